/**
 * The shell path of a ban: the shipped action lines (hooks/fail2ban/fail2git.conf), tags
 * substituted, run by `sh` as fail2ban runs them; the records they write, parsed strictly and
 * checked at flush time exactly as the node hook checks (hooks/record.ts); a real bare remote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decideRecord, parseRecord, recordOpId } from '../../hooks/record.js';
import { opFileName } from '../../hooks/spool.js';
import { parseCidr } from '../../controller/net/cidr.js';
import type { Guard } from '../../hooks/guard-cache.js';
import { git, makeLedgerRemote, REPO_ROOT, type LedgerRemote } from '../helpers/git.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { makeHost, quietHosts, remoteBans, spooled, waitFor, watcherPid, type TestHost } from '../helpers/hook-host.js';
import { CLI, cli } from '../helpers/cli.js';

const guard: Guard = { allow: [parseCidr('192.0.2.0/28')], broadestPrefix: { ipv4: 8, ipv6: 32 }, banPrefix: { ipv4: 32, ipv6: 64 }, fromLedger: true };
const HEX = '0123456789abcdef0123456789abcdef';
const NOW = Date.now();

function record(op: string, v: Partial<Record<'jail' | 'bantime' | 'time' | 'restored' | 'bancount' | 'failures' | 'ip', string>> = {}): string {
  const x = { jail: 'sshd', bantime: '600', time: String(NOW / 1000), restored: '0', bancount: '1', failures: '3', ip: '203.0.113.7', ...v };
  return `fail2git-hook 1\nop ${op}\njail ${x.jail}\nbantime ${x.bantime}\ntime ${x.time}\nrestored ${x.restored}\nbancount ${x.bancount}\nfailures ${x.failures}\nip ${x.ip}\nend\n`;
}

describe('parseRecord (strict)', () => {
  it('reads the ten lines the action writes, values as they came', () => {
    expect(parseRecord(record('ban', { bancount: '' }))).toEqual({
      kind: 'record',
      record: { action: 'ban', values: { jail: 'sshd', bantime: '600', time: String(NOW / 1000), restored: '0', bancount: '', failures: '3', ip: '203.0.113.7' } },
    });
  });

  it('a record without its end line is still being written', () => {
    const full = record('ban');
    expect(parseRecord(full.slice(0, full.indexOf('ip ')))).toEqual({ kind: 'incomplete' });
    expect(parseRecord('')).toEqual({ kind: 'incomplete' });
  });

  it.each([
    ['an extra line (a newline inside a value)', record('ban', { ip: '203.0.113.7\nip 198.51.100.1' })],
    ['lines out of order', record('ban').replace('jail sshd\nbantime 600', 'bantime 600\njail sshd')],
    ['another version', record('ban').replace('fail2git-hook 1', 'fail2git-hook 2')],
    ['an unknown op', record('flush')],
    ['text after the end line', record('ban') + 'op unban\n'],
    ['a huge file', record('ban', { jail: 'x'.repeat(5000) })],
  ])('refuses %s', (_what, text) => {
    expect(parseRecord(text).kind).toBe('malformed');
  });
});

describe('decideRecord: the node hook\'s checks, at flush time', () => {
  const d = (text: string, mtime = NOW) => decideRecord(text, HEX, 'web1', guard, mtime);

  it('a ban becomes the operation the node hook would spool, with an id naming the record', () => {
    const r = d(record('ban', { ip: '::ffff:203.0.113.7', bantime: '-1' }));
    expect(r).toMatchObject({ kind: 'spool', op: { op: 'ban', cidr: '203.0.113.7', ttl: -1, jail: 'sshd', host: 'web1', escalate: true, bancount: 1, failures: 3 } });
    const id = (r as { op: { id: string } }).op.id;
    expect(id).toBe(recordOpId(HEX, 'ban', 'web1', NOW));
    expect(opFileName(id)).toBe(`${HEX}.f2b`);
  });

  it.each([
    [{ ip: '1.2.3.4; rm -rf /' }, /not an IP address/],
    [{ ip: '$(id)' }, /not an IP address/],
    [{ ip: '224.0.0.7' }, /multicast/],
    [{ ip: '192.0.2.3' }, /allowlisted/],
    [{ ip: '0.0.0.0/0' }, /zero-length prefix/],
    [{ bantime: '10m' }, /not a number/],
    [{ time: String(NOW / 1000 + 3600) }, /ahead of this host's clock/],
    [{ jail: 'a b' }, /not a jail name/],
  ])('refuses %j', (bad, why) => {
    const r = d(record('ban', bad));
    expect(r.kind).toBe('refuse');
    expect((r as { why: string }).why).toMatch(why);
  });

  it('skips what the node hook skips: a restored ban, an unban at natural expiry', () => {
    expect(d(record('ban', { restored: '1' })).kind).toBe('skip');
    expect(d(record('unban', { time: String(NOW / 1000 - 700), bantime: '600' })).kind).toBe('skip');
    expect(d(record('unban', { time: String(NOW / 1000 - 60), bantime: '600' })).kind).toBe('spool');
  });

  it('the skew bound is against the moment of the hook (the record\'s mtime), not of the flush', () => {
    // Written an hour ago for a ban that "started" 10 minutes after: refused, even though the flush is later.
    const hookAt = NOW - 3_600_000;
    expect(d(record('ban', { time: String(hookAt / 1000 + 600) }), hookAt).kind).toBe('refuse');
  });

  it('an incomplete record is left alone, and refused once it can no longer be finished', () => {
    const part = record('ban').slice(0, 30);
    expect(d(part).kind).toBe('incomplete');
    expect(d(part, NOW - 10 * 60_000)).toMatchObject({ kind: 'refuse', why: /incomplete/ });
  });

  it('within one clock tick a ban sorts before an unban of the same record time', () => {
    expect(recordOpId(HEX, 'ban', 'web1', NOW) < recordOpId('f'.repeat(32), 'unban', 'web1', NOW)).toBe(true);
    expect(recordOpId('f'.repeat(32), 'ban', 'web1', NOW) < recordOpId(HEX, 'unban', 'web1', NOW)).toBe(true);
  });
});

/** An action line of the shipped file with fail2ban's tags substituted, as fail2ban runs it. */
function actionLine(key: string, tags: Record<string, string>): string {
  const conf = readFileSync(join(REPO_ROOT, 'hooks', 'fail2ban', 'fail2git.conf'), 'utf8');
  const line = new RegExp(`^${key} = (.*)$`, 'm').exec(conf)![1]!;
  return line.replace(/<([a-z0-9_-]+)>/g, (m, t: string) => tags[t] ?? m);
}

function runAction(host: TestHost, key: string, ip: string, extra: Record<string, string> = {}, fail2git = `${process.execPath} ${CLI}`) {
  const tags = { name: 'sshd', ip, bantime: '600', time: String(Date.now() / 1000), restored: '0', bancount: '1', failures: '2', fail2git, config: host.config, ...extra };
  return spawnSync('sh', ['-c', actionLine(key, tags)], { encoding: 'utf8', timeout: 30_000 });
}

/** The nice value of a process (field 19 of /proc/PID/stat). */
function niceOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
}

describe('the shipped action lines through sh', () => {
  let remote: LedgerRemote;
  beforeAll(() => {
    remote = makeLedgerRemote();
  });
  afterAll(async () => {
    await quietHosts();
    cleanupTmp();
  });

  it('actionban writes one complete record into the spool and returns 0 with no node process at all (fail2git absent, no flusher)', async () => {
    const host = makeHost(remote.bare, 'shban');
    mkdirSync(host.spool, { recursive: true });
    // No flusher anywhere, and a fail2git that is not there: what the line itself does is all that happens.
    const r = runAction(host, 'actionban', '203.0.113.70', {}, '/nonexistent/fail2git');
    expect(r.status).toBe(0);
    const files = spooled(host);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{32}\.f2b$/);
    const text = readFileSync(join(host.spool, files[0]!), 'utf8');
    expect(parseRecord(text)).toMatchObject({ kind: 'record', record: { action: 'ban', values: { ip: '203.0.113.70', jail: 'sshd', bantime: '600' } } });
    // Nothing lost without a flusher: `fail2git flush` delivers it.
    const f = await cli(['flush', '--config', host.config]);
    expect(f).toMatchObject({ code: 0 });
    expect(remoteBans(remote.bare).find((b) => b.cidr === '203.0.113.70')).toMatchObject({ by: 'shban', jail: 'sshd' });
    expect(spooled(host)).toEqual([]);
  });

  it('a hook that finds no resident flusher starts one; the next bans go out through it', async () => {
    const host = makeHost(remote.bare, 'shwatch');
    mkdirSync(host.spool, { recursive: true });
    expect(runAction(host, 'actionban', '203.0.113.71').status).toBe(0);
    await waitFor('ban on remote', () => remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.71'), 60_000);
    const pid = watcherPid(host);
    expect(pid).not.toBeNull();
    // It holds watch.lock, so the line's start marker is gone; and it runs below fail2ban's priority.
    expect(existsSync(join(host.stateDir, 'watch.start'))).toBe(false);
    expect(niceOf(pid!)).toBeGreaterThanOrEqual(10);
    expect(runAction(host, 'actionprolong', '203.0.113.71', { bantime: '7200' }).status).toBe(0);
    // banned a few seconds before the unban below (a hook's unban yields to a ban of its own second)
    expect(runAction(host, 'actionban', '203.0.113.72', { bantime: '-1', time: String(Date.now() / 1000 - 5) }).status).toBe(0);
    await waitFor('both on remote', () => {
      const bans = remoteBans(remote.bare);
      const p = bans.find((b) => b.cidr === '203.0.113.71');
      return p !== undefined && Date.parse(p.expires!) - Date.parse(p.at!) === 7_200_000 && bans.some((b) => b.cidr === '203.0.113.72'); // permanent, or capped at the policy's maxTtl
    }, 60_000);
    expect(watcherPid(host)).toBe(pid); // the same resident flusher: no second one was started
    expect((await cli(['doctor', '--config', host.config])).stdout).toMatch(new RegExp(`ok +flusher +resident flusher running \\(pid ${pid}`));
    expect(git(remote.bare, 'log', '-1', '--format=%B', 'main')).toMatch(/Fail2git-Id: \d{13}-shwatch-r[01][0-9a-f]{32}/);
    // A manual unbanip before expiry: network-wide.
    expect(runAction(host, 'actionunban', '203.0.113.72', { bantime: '-1' }).status).toBe(0);
    await waitFor('unban on remote', () => !remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.72'), 60_000);
  }, 180_000);

  it('finds stateDir wherever it is in the config: first, after comments and a commented-out one, last without a final newline', () => {
    const host = makeHost(remote.bare, 'shcfg');
    mkdirSync(host.spool, { recursive: true });
    const shapes = [
      `stateDir: ${host.stateDir}\nremote: ${remote.bare}\nhost: shcfg\n`,
      `# the host config\n# stateDir: /nonexistent/old\n\nremote: ${remote.bare}\nstateDir: ${host.stateDir}\nhost: shcfg\n`,
      `remote: ${remote.bare}\nhost: shcfg\nstateDir: ${host.stateDir}`,
    ];
    for (const [i, text] of shapes.entries()) {
      writeFileSync(host.config, text);
      // No node hook to fall back on: only the line's own reading can put the record there.
      const r = runAction(host, 'actionban', `203.0.113.${90 + i}`, {}, '/nonexistent/fail2git');
      expect({ shape: i, status: r.status }).toEqual({ shape: i, status: 0 });
      expect(spooled(host)).toHaveLength(i + 1);
    }
  });

  it('a burst of bans with no flusher running starts one, not one per ban (the first one marks it in watch.start while it starts up)', () => {
    const host = makeHost(remote.bare, 'shburst');
    mkdirSync(host.spool, { recursive: true });
    // A flusher that takes a while to start (as node does on a loaded host) and counts its starts.
    const starts = join(host.stateDir, 'starts');
    const fake = join(host.stateDir, 'slow-fail2git');
    writeFileSync(fake, `#!/bin/sh\necho "$*" >> ${starts}\nexec sleep 5\n`, { mode: 0o755 });
    for (let i = 0; i < 10; i++) expect(runAction(host, 'actionban', `203.0.113.${100 + i}`, {}, fake).status).toBe(0);
    expect(spooled(host)).toHaveLength(10);
    expect(readFileSync(starts, 'utf8').trim().split('\n')).toEqual([expect.stringMatching(/^flush --watch --idle-exit=600 --config=/)]);
    const pid = Number(readFileSync(join(host.stateDir, 'watch.start'), 'utf8'));
    process.kill(pid, 'SIGTERM');
  });

  it('a restored ban runs only the shell test: no record, exit 0', () => {
    const host = makeHost(remote.bare, 'shrest');
    mkdirSync(host.spool, { recursive: true });
    expect(runAction(host, 'actionban', '203.0.113.73', { restored: '1' }, '/nonexistent/fail2git').status).toBe(0);
    expect(spooled(host)).toEqual([]);
  });

  it('a spool that is not there yet: the line falls back to the node hook, which makes it', async () => {
    const host = makeHost(remote.bare, 'shfirst');
    expect(existsSync(host.spool)).toBe(false);
    expect(runAction(host, 'actionban', '203.0.113.74').status).toBe(0);
    await waitFor('ban on remote', () => remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.74'), 60_000);
    expect(existsSync(host.spool)).toBe(true);
  });

  it('a tag value is data, never shell: fail2ban\'s escaping (the value as a variable) reaches the record byte for byte', () => {
    const host = makeHost(remote.bare, 'shesc');
    mkdirSync(host.spool, { recursive: true });
    const evil = `203.0.113.75;$(touch ${join(host.stateDir, 'PWNED')})\`id\`'"|&`;
    // What fail2ban 1.0.2 (server/action.py replaceDynamicTags + utils.buildShellCmd) runs for such a value.
    const script = `f2bV_ip=$0 \n${actionLine('actionban', { name: 'sshd', ip: '$f2bV_ip', bantime: '600', time: String(Date.now() / 1000), restored: '0', bancount: '1', failures: '1', fail2git: '/nonexistent/fail2git', config: host.config })}`;
    const r = spawnSync('sh', ['-c', script, evil], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(existsSync(join(host.stateDir, 'PWNED'))).toBe(false);
    const [file] = spooled(host);
    expect(readFileSync(join(host.spool, file!), 'utf8')).toContain(`\nip ${evil}\nend\n`);
  });

  it('`fail2git pending` lists records and says whether the resident flusher runs; a refused one goes to spool/refused/', async () => {
    const host = makeHost(remote.bare, 'shpend');
    mkdirSync(host.spool, { recursive: true });
    expect(runAction(host, 'actionban', '203.0.113.76', {}, '/nonexistent/fail2git').status).toBe(0);
    writeFileSync(join(host.spool, `${'a'.repeat(32)}.f2b`), record('ban', { ip: '224.0.0.9' }));
    const p = await cli(['pending', '--config', host.config]);
    expect(p.stdout).toMatch(/ ban {2}203\.0\.113\.76 /);
    expect(p.stdout).toMatch(/1 pending \(1 refused, in spool\/refused\/\).*; resident flusher not running/);
    expect(readdirSync(join(host.spool, 'refused'))).toEqual([expect.stringMatching(new RegExp(`^\\d{13}-shpend-r0${'a'.repeat(32)}\\.json$`))]);
    expect(p.stdout).toMatch(/refused .*224\.0\.0\.9.*multicast/);
    // and doctor says no flusher runs (the bans wait, nothing is lost)
    expect((await cli(['doctor', '--config', host.config])).stdout).toMatch(/warn +flusher +resident flusher \(fail2git flush --watch\) not running/);
  });

  it('an old record that never got its end line is refused, not left forever', async () => {
    const host = makeHost(remote.bare, 'shold');
    mkdirSync(host.spool, { recursive: true });
    const path = join(host.spool, `${'b'.repeat(32)}.f2b`);
    writeFileSync(path, 'fail2git-hook 1\nop ban\n');
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(path, old, old);
    const f = await cli(['flush', '--json', '--config', host.config]);
    expect(JSON.parse(f.stdout)).toMatchObject({ refused: [{ file: `${'b'.repeat(32)}.f2b`, why: expect.stringMatching(/incomplete/) }] });
    expect(f.code).toBe(1);
    expect(execFileSync('ls', [join(host.spool, 'refused')], { encoding: 'utf8' })).toContain('b'.repeat(32));
  });
});
