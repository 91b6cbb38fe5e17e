/**
 * The real crowdsec-firewall-bouncer (Debian's package) against `fail2git serve`, both inside
 * one network namespace: bans appear in the bouncer's own kernel sets, an unban and an expiry
 * leave them, a restart of serve loses nothing, a wrong key gets 403 and no data. Three
 * bouncers show what each mode does with a Range: nftables narrows it to its network address
 * (bouncer 0.0.25), nftables with a key marked `expandRanges` gets every address, iptables
 * mode (ipset hash:net) keeps the range.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, runCli } from '../../helpers/cli.js';
import { makeLedgerRemote, type LedgerRemote } from '../../helpers/git.js';
import { banList, ledgerFiles } from '../../helpers/fixtures.js';
import { createNetns, destroyAllNetns, kernelSkipReason, type Netns } from '../../helpers/netns.js';
import { cleanupTmp, tmpDir, uniqueName } from '../../helpers/tmp.js';

const haveBouncer = spawnSync('which', ['crowdsec-firewall-bouncer']).status === 0;
const skip = kernelSkipReason() ?? (haveBouncer || process.env.CI === 'true' ? undefined : 'crowdsec-firewall-bouncer is not installed');

const KEYS = { plain: 'k-plain-0123456789abcdef', expand: 'k-expand-0123456789abcdef', ipset: 'k-ipset-0123456789abcdef', wrong: 'k-not-listed-0123456789' };
const later = (ms: number) => new Date(Date.now() + ms);

describe.skipIf(skip !== undefined)('crowdsec-firewall-bouncer against fail2git serve', () => {
  let ns: Netns;
  let remote: LedgerRemote;
  let dir: string;
  let config: string;
  let serve: ChildProcess | undefined;
  const procs: ChildProcess[] = [];
  const tables = { plain: uniqueName('f2gp'), expand: uniqueName('f2ge'), ipset: uniqueName('f2gi'), wrong: uniqueName('f2gw') };

  const reconcile = () => {
    const r = runCli(['reconcile', '--once', '--config', config]);
    expect(r.stderr).toContain('ledger.accepted');
  };

  function startServe(): Promise<void> {
    const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, CLI, 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    serve = p;
    procs.push(p);
    return new Promise((resolve, reject) => {
      let text = '';
      p.stderr!.on('data', (b: Buffer) => {
        text += b.toString();
        if (text.includes('serve.listening')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`serve exited ${code}: ${text}`)));
    });
  }

  async function stopServe(): Promise<void> {
    const p = serve!;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await gone;
  }

  function startBouncer(name: keyof typeof KEYS, mode: 'nftables' | 'iptables'): ChildProcess {
    const t = tables[name];
    const cfg = join(dir, `bouncer-${name}.yaml`);
    writeFileSync(cfg, [
      `mode: ${mode}`, `pid_dir: ${dir}/`, 'update_frequency: 1s', 'daemonize: false', 'log_mode: stdout', 'log_level: info',
      'api_url: http://127.0.0.1:8089/', `api_key: ${KEYS[name]}`, 'disable_ipv6: false', 'deny_action: DROP', 'deny_log: false',
      'supported_decisions_types:', '  - ban', `blacklists_ipv4: ${t}4`, `blacklists_ipv6: ${t}6`, 'ipset_type: nethash',
      'iptables_chains:', '  - INPUT', 'nftables:', '  ipv4:', '    enabled: true', '    set-only: false', `    table: ${t}`, `    chain: ${t}-c`,
      '  ipv6:', '    enabled: true', '    set-only: false', `    table: ${t}6`, `    chain: ${t}6-c`, 'prometheus:', '  enabled: false', '  listen_addr: 127.0.0.1', '  listen_port: 60601', '',
    ].join('\n'));
    const p = spawn('ip', ['netns', 'exec', ns.name, 'crowdsec-firewall-bouncer', '-c', cfg], { stdio: 'ignore' });
    procs.push(p);
    return p;
  }

  /** The addresses in a bouncer's own kernel sets (both families). */
  async function members(name: keyof typeof KEYS): Promise<string[]> {
    const t = tables[name];
    if (name === 'ipset') {
      const out: string[] = [];
      for (const s of [`${t}4`, `${t}6`]) {
        const r = await ns.run('ipset', ['list', s]).catch(() => ({ stdout: '' }));
        out.push(...r.stdout.split('Members:\n')[1]?.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean) ?? []);
      }
      return out.sort();
    }
    const out: string[] = [];
    for (const [fam, table, set] of [['ip', t, `${t}4`], ['ip6', `${t}6`, `${t}6`]] as const) {
      const r = await ns.run('nft', ['-j', 'list', 'set', fam, table, set]).catch(() => ({ stdout: '{"nftables":[]}' }));
      const doc = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
      for (const item of doc.nftables) for (const e of item.set?.elem ?? []) out.push(typeof e === 'string' ? e : String((e as { elem: { val: string } }).elem.val));
    }
    return out.sort();
  }

  async function eventually(name: keyof typeof KEYS, want: string[], timeoutMs = 15_000): Promise<void> {
    const sorted = [...want].sort();
    const end = Date.now() + timeoutMs;
    let got: string[] = [];
    while (Date.now() < end) {
      got = await members(name);
      if (JSON.stringify(got) === JSON.stringify(sorted)) return;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(got).toEqual(sorted);
  }

  const expanded = ['198.51.100.0', '198.51.100.1', '198.51.100.2', '198.51.100.3'];

  beforeAll(async () => {
    ns = await createNetns('f2gsv');
    dir = tmpDir('f2g-serve-bouncer');
    remote = makeLedgerRemote(ledgerFiles({
      bans: [{ cidr: '192.0.2.10', expires: later(3_600_000) }, { cidr: '198.51.100.0/30', expires: later(3_600_000) }, { cidr: '2001:db8::5' }],
      targets: [{ name: 'elsewhere', hosts: ['nobody-here'] }],
    }));
    for (const [n, k] of Object.entries(KEYS)) writeFileSync(join(dir, `${n}.key`), `${k}\n`, { mode: 0o600 });
    config = join(dir, 'config.yaml');
    writeFileSync(config, [
      `remote: ${remote.bare}`, 'host: serve1', `stateDir: ${join(dir, 'state')}`, 'serve:', '  listen: 127.0.0.1:8089', '  bouncerKeys:',
      '    - {name: plain, keyFile: plain.key}', '    - {name: expand, keyFile: expand.key, expandRanges: 256}', '    - {name: ipset, keyFile: ipset.key}', '',
    ].join('\n'));
    reconcile();
    await startServe();
    startBouncer('plain', 'nftables');
    startBouncer('expand', 'nftables');
    startBouncer('ipset', 'iptables');
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await destroyAllNetns();
    cleanupTmp();
  });

  it('puts the last good commit\'s bans into each bouncer\'s set; a Range as each mode really takes it', async () => {
    await eventually('plain', ['192.0.2.10', '198.51.100.0', '2001:db8::5']); // nftables (0.0.25): the range narrowed to one address
    await eventually('expand', ['192.0.2.10', ...expanded, '2001:db8::5']); // expandRanges: every address of the range
    await eventually('ipset', ['192.0.2.10', '198.51.100.0/30', '2001:db8::5']); // iptables mode, ipset hash:net: the range kept
  }, 60_000);

  it('a wrong or missing key gets 403 and no data', async () => {
    const probe = `const k=process.argv[1];fetch('http://127.0.0.1:8089/v1/decisions/stream?startup=true',{headers:k?{'X-Api-Key':k}:{}}).then(async r=>console.log(r.status,await r.text()))`;
    for (const key of ['wrong-key-0123456789', '']) {
      const r = await ns.run(process.execPath, ['-e', probe, key]);
      expect(r.stdout.trim()).toBe('403 {"message":"access forbidden"}');
    }
    // The real bouncer with a key serve does not list: refused at its first pull, it stops with its set empty.
    const wrong = startBouncer('wrong', 'nftables');
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => resolve(-1), 15_000);
      wrong.once('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    expect(code).not.toBe(-1); // it exits (0.0.25 exits 0 after logging the refusal)
    expect(await members('wrong')).toEqual([]);
  }, 30_000);

  it('an unban leaves every set; an expiry too', async () => {
    remote.commit({ 'bans/active.yaml': banList([{ cidr: '198.51.100.0/30', expires: later(3_600_000) }, { cidr: '2001:db8::5' }, { cidr: '192.0.2.77', expires: later(6_000) }]) }, 'unban 192.0.2.10, ban 192.0.2.77 for 6 s');
    reconcile();
    await eventually('plain', ['192.0.2.77', '198.51.100.0', '2001:db8::5']);
    await eventually('ipset', ['192.0.2.77', '198.51.100.0/30', '2001:db8::5']);
    await eventually('expand', [...expanded, '2001:db8::5'], 20_000);
    await eventually('plain', ['198.51.100.0', '2001:db8::5']);
    await eventually('ipset', ['198.51.100.0/30', '2001:db8::5']);
  }, 60_000);

  it('a restart of serve loses nothing: what changed while it was down reaches every bouncer', async () => {
    await stopServe();
    remote.commit({ 'bans/active.yaml': banList([{ cidr: '2001:db8::5' }, { cidr: '192.0.2.99', expires: later(3_600_000) }]) }, 'while serve is down');
    reconcile();
    await new Promise((r) => setTimeout(r, 2_500)); // the bouncers keep polling a closed port (and keep their sets)
    expect(await members('ipset')).toEqual(['198.51.100.0/30', '2001:db8::5'].sort());
    await startServe();
    await eventually('plain', ['192.0.2.99', '2001:db8::5']);
    await eventually('expand', ['192.0.2.99', '2001:db8::5']);
    await eventually('ipset', ['192.0.2.99', '2001:db8::5']);
    const list = runCli(['list', '--ledger', join(dir, 'state', 'ledger'), '--json']);
    expect(list.stdout).toContain('192.0.2.99');
  }, 60_000);
});
