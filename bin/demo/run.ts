/**
 * `fail2git demo`: the whole idea on a throwaway ledger. Every step runs the real CLI in a
 * child process (the same code path fail2ban and systemd use), so what you see is what a
 * fleet does: hooks spool and push, reconcilers pull and enforce, an entry expires live,
 * and `audit` tells the story from git history.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Fail2gitError } from '../../controller/lib/errors.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { DEMO_CLUSTER_FW, demoTargets } from './sample.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

interface Ctx {
  root: string;
  cli: string;
  pkgRoot: string;
  bare: string;
  say: (line?: string) => void;
  netns?: string;
  suffix: string;
}

const HOSTS = ['web1', 'mail1', 'pve1', 'gw1'] as const;
type Host = (typeof HOSTS)[number];

/** Finds the package root (holding bans/ and package.json) from this module's location. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bans'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Fail2gitError('E_DEMO', 'demo: cannot find the fail2git package root (bans/ and package.json)');
    dir = up;
  }
}

function runFile(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

function cli(ctx: Ctx, args: string[], netns?: string): Promise<CliResult> {
  if (netns) return runFile('ip', ['netns', 'exec', netns, process.execPath, ctx.cli, ...args]);
  return runFile(process.execPath, [ctx.cli, ...args]);
}

function must(r: CliResult, what: string): CliResult {
  if (r.code !== 0) {
    const why = (r.stderr.trim().split('\n').filter((l) => !l.startsWith('{')).pop() ?? r.stdout.trim()) || `exit ${r.code}`;
    throw new Fail2gitError('E_DEMO', `${what} failed: ${why}`);
  }
  return r;
}

function git(cwd: string, ...args: string[]): Promise<CliResult> {
  return runFile('git', ['-c', 'user.name=demo', '-c', 'user.email=demo@fail2git.invalid', ...args], { cwd });
}

function cfgPath(ctx: Ctx, host: Host): string {
  return join(ctx.root, 'hosts', host, 'config.yaml');
}

function stateDir(ctx: Ctx, host: Host): string {
  return join(ctx.root, 'hosts', host, 'state');
}

const ms = (n: number): string => (n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`);
const epoch = (): string => String(Math.floor(Date.now() / 1000));

async function seedLedger(ctx: Ctx, paths: { list: string; clusterFw: string }): Promise<void> {
  const work = join(ctx.root, 'seed');
  must(await git(ctx.root, 'init', '-q', '--bare', '-b', 'main', ctx.bare), 'git init');
  mkdirSync(join(work, 'bans'), { recursive: true });
  for (const f of ['active.yaml', 'allow.yaml', 'policy.yaml']) {
    cpSync(join(ctx.pkgRoot, 'bans', f), join(work, 'bans', f));
  }
  writeFileSync(join(work, 'bans', 'targets.yaml'), demoTargets(paths, ctx.suffix));
  must(await git(ctx.root, 'init', '-q', '-b', 'main', work), 'git init');
  must(await git(work, 'add', '-A'), 'git add');
  must(await git(work, 'commit', '-q', '-m', 'seed the demo ledger from bans/'), 'git commit');
  must(await git(work, 'push', '-q', ctx.bare, 'main'), 'git push');
  rmSync(work, { recursive: true, force: true });
  for (const host of HOSTS) {
    mkdirSync(dirname(cfgPath(ctx, host)), { recursive: true });
    writeFileSync(
      cfgPath(ctx, host),
      `# host config of the simulated host ${host}\nremote: ${ctx.bare}\nbranch: main\nhost: ${host}\nstateDir: ${stateDir(ctx, host)}\ninterval: 30s\n` +
        // The host, not the ledger, says which files its targets may write.
        `writablePaths:\n  file: [${JSON.stringify(paths.list)}]\n  pve-clusterfw: [${JSON.stringify(paths.clusterFw)}]\n`,
    );
  }
}

async function hookBan(ctx: Ctx, host: Host, jail: string, ip: string, bantime: number, time = epoch()): Promise<number> {
  const r = must(
    await cli(ctx, ['hook', 'ban', '--jail', jail, '--ip', ip, '--bantime', String(bantime), '--time', time, '--config', cfgPath(ctx, host)]),
    `hook on ${host}`,
  );
  return r.ms;
}

async function flush(ctx: Ctx, host: Host): Promise<CliResult> {
  return must(await cli(ctx, ['flush', '--config', cfgPath(ctx, host)]), `flush on ${host}`);
}

async function remoteLog(ctx: Ctx, n: number): Promise<string[]> {
  const r = must(await git(ctx.root, '--git-dir', ctx.bare, 'log', `-${n}`, '--format=%h %an: %s'), 'git log');
  return r.stdout.trim().split('\n');
}

async function reconcile(ctx: Ctx, host: Host, netns?: string): Promise<CliResult> {
  return must(await cli(ctx, ['reconcile', '--once', '--config', cfgPath(ctx, host)], netns), `reconcile on ${host}`);
}

function indent(text: string, pad = '      '): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

function summaryLines(out: string): string {
  return out
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('{'))
    .join('\n');
}

function sectionOf(fw: string, name: string): string {
  const lines = fw.split('\n');
  const start = lines.findIndex((l) => l.toLowerCase().startsWith(`[ipset ${name}]`));
  if (start < 0) return '(no section)';
  const end = lines.findIndex((l, i) => i > start && l.startsWith('['));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

function canUseKernel(): { ok: boolean; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root' };
  for (const bin of ['ip', 'ipset', 'nft', 'iptables']) {
    const found = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((d) => existsSync(join(d, bin)));
    if (!found) return { ok: false, why: `${bin} is not installed` };
  }
  return { ok: true, why: '' };
}

async function waitFor(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return pred();
}

export interface DemoOptions {
  keep: boolean;
  out?: (line: string) => void;
  /** seconds the live-expiry ban lasts */
  expirySeconds?: number;
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const say = (line = ''): void => (opts.out ?? ((l: string) => process.stdout.write(l + '\n')))(line);
  const pkgRoot = packageRoot();
  const root = mkdtempSync(join(tmpdir(), 'fail2git-demo-'));
  const suffix = randomBytes(3).toString('hex');
  const ctx: Ctx = { root, cli: join(pkgRoot, 'dist', 'bin', 'fail2git.js'), pkgRoot, bare: join(root, 'ledger.git'), say, suffix };
  const paths = { list: join(root, 'www', 'fail2git.txt'), clusterFw: join(root, 'pve', 'cluster.fw') };
  const kernel = canUseKernel();
  const table: string[][] = [];
  let failed = false;
  try {
    say(`fail2git demo — network-wide bans as code, on a throwaway ledger in ${root}`);
    say('');

    say('[1/7] ledger    a bare git repository seeded from this project\'s bans/ (the example ledger)');
    mkdirSync(dirname(paths.list), { recursive: true });
    mkdirSync(dirname(paths.clusterFw), { recursive: true });
    writeFileSync(paths.clusterFw, DEMO_CLUSTER_FW);
    await seedLedger(ctx, paths);
    const v = must(await cli(ctx, ['list', '--ledger', pkgRoot]), 'list');
    say(`      ${ctx.bare}: ${v.stdout.trim().split('\n').length} bans enforceable now, plus an allowlist, a policy and 4 targets`);
    say('      hosts: web1 and mail1 run fail2ban; pve1 enforces a URL-table list and cluster.fw; gw1 the kernel');
    say('');

    say('[2/7] fail2ban  the real hook, as fail2ban\'s action calls it; a background flusher pushes');
    // As the README's install does: a first flush caches the ledger's allowlist for the hook.
    await flush(ctx, 'web1');
    await flush(ctx, 'mail1');
    const t1 = await hookBan(ctx, 'web1', 'sshd', '198.51.100.41', 600);
    say(`      web1  sshd     bans 198.51.100.41 for 10m   hook returned in ${ms(t1)}`);
    const t2 = await hookBan(ctx, 'mail1', 'postfix', '2001:db8:bad::1', 3600);
    say(`      mail1 postfix  bans 2001:db8:bad::1 for 1h  hook returned in ${ms(t2)}`);
    // fail2ban asks its ignorecommand first, so no local action bans an allowlisted address…
    const ignored = await cli(ctx, ['hook', 'ignore', '--ip', '192.0.2.5', '--config', cfgPath(ctx, 'web1')]);
    if (ignored.code !== 0) throw new Fail2gitError('E_DEMO', 'hook ignore did not report an allowlisted address as ignored');
    say('      web1  fail2ban asks ignorecommand about 192.0.2.5 → allowlisted (exit 0): no jail bans it, not even locally');
    // …and a ban that reaches the hook anyway is refused in one line (exit 0: nothing for
    // fail2ban to retry) and kept in spool/refused/ with its reason.
    const refused = await cli(ctx, ['hook', 'ban', '--jail', 'sshd', '--ip', '192.0.2.5', '--bantime', '600', '--time', epoch(), '--config', cfgPath(ctx, 'web1')]);
    const why = (refused.stderr.trim().split('\n').pop() ?? '').replace(/^fail2git: /, '');
    if (refused.code !== 0 || !/refus/i.test(why)) throw new Fail2gitError('E_DEMO', 'the hook accepted an allowlisted address');
    say(`      web1  sshd     bans 192.0.2.5 → refused: ${why}`);
    await flush(ctx, 'web1');
    await flush(ctx, 'mail1');
    say('      the ledger remote now says:');
    for (const l of await remoteLog(ctx, 3)) say(`        ${l}`);
    say('');

    say('[3/7] reconcile pve1 pulls the tip and brings its two targets in line');
    const r1 = await reconcile(ctx, 'pve1');
    say(indent(summaryLines(r1.stdout)));
    say(`      ${paths.list} (a pfSense/OPNsense URL table alias reads this):`);
    say(indent(readFileSync(paths.list, 'utf8'), '        '));
    say(`      ${paths.clusterFw}, the one section fail2git owns (every other byte untouched):`);
    say(indent(sectionOf(readFileSync(paths.clusterFw, 'utf8'), 'fail2ban'), '        '));
    const again = await reconcile(ctx, 'pve1');
    say(`      a second run changes nothing: ${summaryLines(again.stdout).split('\n')[0]}`);
    say('');

    say('[4/7] a person  alice lifts a ban with the CLI; the next reconcile removes it everywhere');
    must(await cli(ctx, ['unban', '198.51.100.7', '--by', 'alice', '--reason', 'false positive, ticket 61', '--config', cfgPath(ctx, 'web1')]), 'unban');
    for (const l of await remoteLog(ctx, 1)) say(`        ${l}`);
    const r2 = await reconcile(ctx, 'pve1');
    say(indent(summaryLines(r2.stdout)));
    say('');

    say('[5/7] kernel    gw1 enforces with ipset and nftables in a throwaway network namespace');
    if (kernel.ok) {
      ctx.netns = `f2gdemo${suffix}`;
      must(await runFile('ip', ['netns', 'add', ctx.netns]), 'ip netns add');
      const r3 = await reconcile(ctx, 'gw1', ctx.netns);
      say(indent(summaryLines(r3.stdout)));
      const sets = must(await runFile('ip', ['netns', 'exec', ctx.netns, 'ipset', 'list', `f2gdemo${suffix}-v4`]), 'ipset list');
      const members = sets.stdout.split('Members:\n')[1]?.trim().split('\n').filter(Boolean) ?? [];
      say(`      ipset f2gdemo${suffix}-v4 holds ${members.length}: ${members.join(', ')}`);
      const rules = must(await runFile('ip', ['netns', 'exec', ctx.netns, 'iptables', '-S', 'INPUT']), 'iptables -S');
      say(`      iptables: ${rules.stdout.split('\n').filter((l) => l.includes('match-set')).join('; ')}`);
      const nft = must(await runFile('ip', ['netns', 'exec', ctx.netns, 'nft', 'list', 'set', 'inet', `f2gdemo${suffix}`, 'v6']), 'nft list set');
      const elems = /elements = \{([^}]*)\}/s.exec(nft.stdout)?.[1]?.replace(/\s+/g, ' ').trim() ?? '(empty)';
      say(`      nft set inet f2gdemo${suffix} v6: ${elems}`);
    } else {
      say(`      skipped: ${kernel.why} (run as root with ipset, nftables, iproute2 and iptables for this step)`);
    }
    say('');

    const ttl = opts.expirySeconds ?? 4;
    say(`[6/7] expiry    web1 bans 198.51.100.99 for ${ttl}s; pve1 runs --watch and wakes for the expiry`);
    const banTime = epoch();
    const expires = (Number(banTime) + ttl) * 1000;
    await hookBan(ctx, 'web1', 'sshd', '198.51.100.99', ttl, banTime);
    await flush(ctx, 'web1');
    const watcher = spawn(process.execPath, [ctx.cli, 'reconcile', '--watch', '--interval', '30s', '--config', cfgPath(ctx, 'pve1')], { stdio: 'ignore' });
    const listed = () => existsSync(paths.list) && readFileSync(paths.list, 'utf8').split('\n').includes('198.51.100.99');
    const appeared = await waitFor(listed, 15_000);
    say(`      198.51.100.99 ${appeared ? 'is enforced' : 'did NOT appear'} on pve1; expires in ${Math.max(0, Math.round((expires - Date.now()) / 1000))}s`);
    const gone = await waitFor(() => !listed(), ttl * 1000 + 10_000);
    const late = (Date.now() - expires) / 1000;
    watcher.kill('SIGTERM');
    await new Promise((r) => watcher.once('exit', r));
    if (!appeared || !gone) throw new Fail2gitError('E_DEMO', 'expiry: the entry did not come and go as expected');
    say(`      ...and left the list ${late.toFixed(1)} s after its expiry, with no commit (the TTL governs)`);
    say('');

    say('[7/7] audit     who banned 198.51.100.41, when and why, straight from git history');
    const audit = must(await cli(ctx, ['audit', '198.51.100.41', '--ledger', join(stateDir(ctx, 'pve1'), 'ledger')]), 'audit');
    say(indent(audit.stdout));
    say('');

    for (const host of ['pve1', ...(kernel.ok ? ['gw1'] : [])] as Host[]) {
      const st = JSON.parse(readFileSync(join(stateDir(ctx, host), 'status.json'), 'utf8')) as {
        appliedCommit?: string; targets?: Record<string, { driver?: string; entries?: number; reason?: string }> | { name: string; driver?: string; entries?: number; reason?: string }[];
      };
      const targets = Array.isArray(st.targets) ? st.targets : Object.entries(st.targets ?? {}).map(([name, t]) => ({ name, ...t }));
      for (const t of targets) table.push([host, t.name, t.driver ?? '', String(t.entries ?? ''), t.reason ?? '']);
    }
  } catch (err) {
    failed = true;
    say(`demo: ${(err as Error).message}`);
  } finally {
    if (ctx.netns) await runFile('ip', ['netns', 'del', ctx.netns]);
    if (!opts.keep) removeDemoDir(root, say);
  }
  if (table.length > 0) {
    const head = ['host', 'target', 'driver', 'entries', 'state'];
    const rows = [head, ...table];
    const w = head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    say('Summary');
    for (const r of rows) say('  ' + r.map((c, i) => c.padEnd(w[i]!)).join('  '));
  }
  say('');
  say(
    opts.keep
      ? `Kept ${root}: the ledger remote is ${join(root, 'ledger.git')}; host configs under ${join(root, 'hosts')}.`
      : `Removed ${root}${ctx.netns ? ` and network namespace ${ctx.netns}` : ''}. Keep it to play with: npm run demo -- --keep`,
  );
  return failed ? 1 : 0;
}

/**
 * The throwaway directory goes; a background flusher that a failed step left running may still
 * be writing into it, so retry for a moment, then say what is left instead of crashing.
 */
function removeDemoDir(root: string, say: (line: string) => void): void {
  try {
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  } catch (err) {
    say(`demo: could not remove ${root} (${(err as NodeJS.ErrnoException).code ?? 'error'}); remove it by hand`);
  }
}
