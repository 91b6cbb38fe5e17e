/**
 * The reconciler as people and systemd run it: `node dist/bin/fail2git.js reconcile|plan|status`
 * against real git remotes, file targets in temp dirs and, for --watch, an ipset target in
 * a network namespace (the kernel part runs the whole CLI inside the namespace).
 */
import { afterAll, afterEach, describe, it, expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeLedgerRemote, startGitDaemon, startStalledRemote, type LedgerRemote } from '../helpers/git.js';
import { cleanupTmp, tmpDir, uniqueName } from '../helpers/tmp.js';
import { createNetns, destroyAllNetns, kernelSkipReason, type Netns } from '../helpers/netns.js';
import { banList, ledgerFiles, type FixtureBan, type FixtureTarget } from '../helpers/fixtures.js';
import { cli, CLI, type CliResult } from '../helpers/cli.js';

afterAll(async () => {
  cleanupTmp();
  await destroyAllNetns();
});

/** A ledger remote whose targets write files in a temp dir, and the flags to reconcile it as `host`. */
function setup(bans: FixtureBan[], targets?: (dir: string) => FixtureTarget[], policy?: Record<string, unknown>) {
  const dir = tmpDir('f2g-cli');
  const stateDir = join(dir, 'state');
  // Lists go where a host without writablePaths lets file targets write: <stateDir>/lists/.
  const listsDir = join(stateDir, 'lists');
  mkdirSync(listsDir, { recursive: true });
  const list = (name: string) => join(listsDir, `${name}.txt`);
  const docs = targets?.(listsDir) ?? [{ name: 'alias', hosts: ['web*'], options: { path: list('alias'), format: 'txt' } }];
  const remote: LedgerRemote = makeLedgerRemote(ledgerFiles({ bans, targets: docs, ...(policy && { policy }) }));
  const flags = ['--remote', remote.bare, '--host', 'web1', '--state-dir', stateDir];
  const entries = (name: string): string[] =>
    existsSync(list(name)) ? readFileSync(list(name), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')) : [];
  return { dir, remote, stateDir, flags, list, entries };
}

/** stdout as JSON; on failure the error carries stderr, so a broken run explains itself. */
function stdoutJson<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`exit ${r.code}, stdout not JSON: ${r.stdout.slice(0, 200)} | stderr: ${r.stderr.slice(0, 500)}`);
  }
}

const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const soon = (s: number) => new Date(Date.now() + s * 1000);

describe('fail2git reconcile --once', () => {
  it('publishes the fleet status record by default; publishStatus: false pushes nothing (a read-only host)', async () => {
    const s = setup([{ cidr: '192.0.2.7' }]);
    const statusRef = (host: string) => git(s.remote.bare, 'for-each-ref', '--format=%(refname)', `refs/fail2git/status/${host}`);
    expect((await cli(['reconcile', ...s.flags])).code).toBe(0);
    expect(statusRef('web1')).toBe('refs/fail2git/status/web1');
    const cfg = join(s.dir, 'ro.yaml');
    writeFileSync(cfg, `remote: ${s.remote.bare}\nhost: web2\nstateDir: ${s.stateDir}\npublishStatus: false\n`); // its file target writes under this stateDir's lists/
    const r = await cli(['reconcile', '--config', cfg]);
    expect(r.code, r.stderr).toBe(0);
    expect(statusRef('web2')).toBe('');
    expect(r.stderr).not.toMatch(/fleet\.publish/);
  });

  it('a stateDir under /proc or /sys, or a file, fails at once with one line (no spinning in mkdir)', async () => {
    const file = join(tmpDir('f2g-sdfile'), 'state');
    writeFileSync(file, 'x');
    for (const [dir, why] of [['/proc/f2g-state', /is under \/proc, a kernel pseudo-filesystem/], ['/sys/f2g-state', /is under \/sys/], [file, /is not a directory/]] as const) {
      const start = Date.now();
      const r = await cli(['reconcile', '--remote', '/nonexistent/ledger.git', '--host', 'web1', '--state-dir', dir]);
      expect(Date.now() - start).toBeLessThan(10_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^fail2git: \\(command-line flags\\): stateDir ${dir}`));
      expect(r.stderr).toMatch(why);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('refreshes the allowlist cache the fail2ban side reads (guard.json) from a new tip', async () => {
    const s = setup([{ cidr: '192.0.2.7' }]);
    const r = await cli(['reconcile', ...s.flags]);
    expect(r.code, r.stderr).toBe(0);
    const guard = () => JSON.parse(readFileSync(join(s.stateDir, 'guard.json'), 'utf8')) as { rev: string; allow: string[] };
    expect(guard().allow).toEqual([]);
    const rev = s.remote.commit({ 'bans/allow.yaml': 'apiVersion: fail2git/v1\nkind: AllowList\nallow:\n  - {cidr: 198.51.100.0/24}\n' }, 'allow office');
    expect((await cli(['reconcile', ...s.flags])).code).toBe(0);
    expect(guard()).toMatchObject({ rev, allow: ['198.51.100.0/24'] });
  });

  it('applies the ledger to this host\'s file target; logs are JSON lines; a second run is up to date', async () => {
    const s = setup([{ cidr: '192.0.2.7' }, { cidr: '2001:db8::/48', expires: soon(3600) }]);
    const r = await cli(['reconcile', ...s.flags]);
    expect(r.code).toBe(0);
    expect(s.entries('alias')).toEqual(['192.0.2.7', '2001:db8::/48']);
    expect(r.stdout).toMatch(/^web1 @ [0-9a-f]{12}: Applied: /);
    expect(r.stdout).toContain('alias (file): Applied, +2 -0, 2 entries');
    const events = jsonLines(r.stderr);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['fetch', 'ledger.accepted', 'apply', 'run']));
    expect(events.find((e) => e.event === 'apply')).toMatchObject({ level: 'info', target: 'alias', added: 2, removed: 0, host: 'web1' });
    const again = await cli(['reconcile', '--once', ...s.flags]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(': UpToDate: ');
    const events2 = jsonLines(again.stderr).map((e) => e.event);
    expect(events2).toContain('run');
    expect(events2).not.toContain('apply');
    expect(events2).not.toContain('fetch');
    // After each run the host's fleet status record is published (controller/loop/after-run.ts).
    expect(git(s.remote.bare, 'for-each-ref', '--format=%(refname)', 'refs/fail2git/status/')).toContain('refs/fail2git/status/web1');
  });

  it('--json prints the run status; status.json and the metrics textfile agree', async () => {
    const s = setup([{ cidr: '192.0.2.7' }]);
    const r = await cli(['reconcile', '--json', ...s.flags]);
    const status = stdoutJson<{ reason: string; commit: { applied: string }; targets: Record<string, { entries: number }> }>(r);
    expect(status.reason).toBe('Applied');
    expect(status.commit.applied).toBe(s.remote.head());
    expect(JSON.parse(readFileSync(join(s.stateDir, 'status.json'), 'utf8'))).toEqual(status);
    const prom = readFileSync(join(s.stateDir, 'fail2git.prom'), 'utf8');
    expect(prom).toContain('fail2git_desired_entries 1\n');
    expect(prom).toContain('fail2git_target_entries{target="alias",driver="file"} 1\n');
  });

  it('--dry-run changes nothing; --target limits the run', async () => {
    const s = setup([{ cidr: '192.0.2.7' }], (d) => [
      { name: 'a', options: { path: join(d, 'a.txt') } },
      { name: 'b', options: { path: join(d, 'b.txt') } },
    ]);
    expect((await cli(['reconcile', '--dry-run', ...s.flags])).code).toBe(0);
    expect(existsSync(s.list('a'))).toBe(false);
    const r = await cli(['reconcile', '--target', 'b', ...s.flags]);
    expect(r.code).toBe(0);
    expect(existsSync(s.list('a'))).toBe(false);
    expect(s.entries('b')).toEqual(['192.0.2.7']);
  });

  it('an invalid tip: exit 1, the last good commit stays, status says why', async () => {
    const s = setup([{ cidr: '192.0.2.7' }]);
    await cli(['reconcile', ...s.flags]);
    s.remote.commit({ 'bans/active.yaml': 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 10.0.0.1/8}\n' });
    const r = await cli(['reconcile', ...s.flags]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('InvalidLedger');
    expect(s.entries('alias')).toEqual(['192.0.2.7']);
    const st = await cli(['status', '--state-dir', s.stateDir]);
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(/result\s+NOT OK: InvalidLedger: tip [0-9a-f]{12} is invalid \(bans\/active\.yaml:4:\d+: .*enforcing last good/);
  });

  it('the removal guard refuses until --force (exit 1, then 0)', async () => {
    const many = Array.from({ length: 24 }, (_, i) => ({ cidr: `198.51.100.${i + 1}` }));
    const s = setup(many);
    await cli(['reconcile', ...s.flags]);
    s.remote.commit({ 'bans/active.yaml': banList([]) });
    const refused = await cli(['reconcile', ...s.flags]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/GuardRefused: refusing to remove 24 of 24 entries .*--force/);
    expect(s.entries('alias')).toHaveLength(24);
    const forced = await cli(['reconcile', '--force', ...s.flags]);
    expect(forced.code).toBe(0);
    expect(s.entries('alias')).toEqual([]);
  });

  it('reads --config, and flags override it', async () => {
    const s = setup([{ cidr: '192.0.2.7' }]);
    const cfg = join(s.dir, 'config.yaml');
    writeFileSync(cfg, `remote: ${s.remote.bare}\nhost: db1\nstateDir: ${s.stateDir}\ninterval: 5s\n`);
    const asDb = await cli(['reconcile', '--config', cfg]);
    expect(asDb.code).toBe(0);
    expect(existsSync(s.list('alias'))).toBe(false); // alias is for web*
    const asWeb = await cli(['reconcile', '--config', cfg, '--host', 'web7']);
    expect(asWeb.code).toBe(0);
    expect(s.entries('alias')).toEqual(['192.0.2.7']);
  });

  it('with requireSignedCommits, an unsigned tip is never enforced (the signature check is wired in)', async () => {
    const s = setup([{ cidr: '192.0.2.7' }]);
    const signers = join(s.dir, 'allowed_signers');
    writeFileSync(signers, '');
    const cfg = join(s.dir, 'config.yaml');
    writeFileSync(cfg, `remote: ${s.remote.bare}\nhost: web1\nstateDir: ${s.stateDir}\nrequireSignedCommits: true\nallowedSigners: ${signers}\n`);
    const r = await cli(['reconcile', '--config', cfg]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NoLedger: nothing enforced: no good ledger commit \([0-9a-f]{12}: held \(unsigned\): commit [0-9a-f]{12} by test <test@example\.invalid> is not signed/);
    expect(existsSync(s.list('alias'))).toBe(false);
  });

  it('a git:// remote that goes away: the last fetched commit stays enforced (exit 1, PullFailed)', async () => {
    const s = setup([{ cidr: '192.0.2.7' }]);
    const daemon = await startGitDaemon(join(s.remote.bare, '..'));
    const flags = ['--remote', daemon.url('ledger.git'), '--host', 'web1', '--state-dir', s.stateDir];
    try {
      expect((await cli(['reconcile', ...flags])).code).toBe(0);
    } finally {
      await daemon.stop();
    }
    const r = await cli(['reconcile', ...flags]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/PullFailed: git ls-remote failed: .*; enforcing last fetched [0-9a-f]{12}/);
    expect(s.entries('alias')).toEqual(['192.0.2.7']);
  });

  const usage: [string, string[], RegExp][] = [
    ['--once with --watch', ['reconcile', '--once', '--watch'], /--once and --watch exclude each other/],
    ['a bad interval', ['reconcile', '--watch', '--interval', 'soon'], /--interval "soon" is not a duration/],
    ['an unknown flag', ['reconcile', '--frobnicate'], /frobnicate/],
  ];
  for (const [name, args, msg] of usage) {
    it(`usage error: ${name} → exit 2, one line`, async () => {
      const s = setup([]);
      const r = await cli([...args, ...s.flags]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    });
  }

  it('--target naming no target of this host → exit 2 with the name', async () => {
    const s = setup([]);
    const r = await cli(['reconcile', '--target', 'nope', ...s.flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no target named "nope" for host web1');
  });

  it('no config and no --remote: one clear line, exit 1', async () => {
    const r = await cli(['reconcile']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^fail2git: \/nonexistent\/fail2git\.yaml: cannot read host config/);
  });
});

describe('fail2git reconcile --watch (file target)', () => {
  it('pushes what local hooks spooled, then enforces it; SIGINT stops cleanly', async () => {
    const s = setup([{ cidr: '192.0.2.7' }]);
    const { spoolOperation } = await import('../../hooks/spool.js');
    spoolOperation(join(s.stateDir, 'spool'), {
      v: 1, id: `${Date.now()}-web1-test`, op: 'ban', cidr: '203.0.113.50', at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      by: 'web1', host: 'web1', jail: 'sshd', ttl: 3600,
    });
    const child = spawn(process.execPath, [CLI, 'reconcile', '--watch', '--interval', '1s', ...s.flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const deadline = Date.now() + 20_000;
      while (!s.entries('alias').includes('203.0.113.50') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(s.entries('alias')).toEqual(['192.0.2.7', '203.0.113.50']);
      expect(git(s.remote.bare, 'show', 'main:bans/active.yaml')).toContain('203.0.113.50');
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(jsonLines(stderr).find((e) => e.event === 'spool.flushed')).toMatchObject({ delivered: 1, pending: 0 });
      expect(s.entries('alias')).toEqual(['192.0.2.7', '203.0.113.50']);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('fail2git reconcile --watch with a remote that stalls', () => {
  it('removes an entry with a 3 s TTL within the expiry bound while the remote accepts connections and never answers', async () => {
    const expires = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3_000);
    const s = setup([{ cidr: '192.0.2.7' }, { cidr: '198.51.100.9', expires }]);
    // A first run fetches from the real remote (and enforces the entry) ...
    const once = await cli(['reconcile', '--once', ...s.flags]);
    expect(once.code, once.stderr).toBe(0);
    expect(s.entries('alias')).toEqual(['192.0.2.7', '198.51.100.9']);
    // ... then the remote stalls: the same host, pointed at a listener that never answers.
    const stalled = await startStalledRemote();
    const flags = s.flags.map((f) => (f === s.remote.bare ? stalled.url('ledger.git') : f));
    const child = spawn(process.execPath, [CLI, 'reconcile', '--watch', '--interval', '1s', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const deadline = expires.getTime() + 15_000;
      while (s.entries('alias').includes('198.51.100.9') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const gone = Date.now();
      expect(s.entries('alias')).toEqual(['192.0.2.7']);
      // docs/reconcile.md: an entry leaves within 2 s of its expires, whatever the remote does.
      expect(gone - expires.getTime(), stderr).toBeLessThan(2_000);
      expect(stalled.accepted).toBeGreaterThan(0); // the fetch did try the stalled remote
      // Stopping does not wait out the stalled fetch's timeout either.
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const stopAt = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - stopAt).toBeLessThan(8_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await stalled.close();
    }
  });
});

describe('one enforcing reconciler per state dir', () => {
  it('a second reconcile is refused while --watch runs (plan still works); the lock goes with the process', async () => {
    const s = setup([{ cidr: '192.0.2.7' }]);
    const child = spawn(process.execPath, [CLI, 'reconcile', '--watch', '--interval', '30s', ...s.flags], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const deadline = Date.now() + 20_000;
      while (!existsSync(join(s.stateDir, 'status.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const second = await cli(['reconcile', ...s.flags]);
      expect(second.code, stderr).toBe(1);
      expect(second.stderr.trim()).toBe(`fail2git: another reconcile (pid ${child.pid}) is enforcing ${s.stateDir}; see fail2git status`);
      expect((await cli(['plan', ...s.flags])).code).toBe(0);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      expect(existsSync(join(s.stateDir, 'reconcile.lock'))).toBe(false);
      expect((await cli(['reconcile', ...s.flags])).code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('a lock left by a process that died is taken over', async () => {
    const s = setup([{ cidr: '192.0.2.7' }]);
    const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((r) => dead.once('exit', r));
    mkdirSync(s.stateDir, { recursive: true });
    writeFileSync(join(s.stateDir, 'reconcile.lock'), `${dead.pid}\n`);
    const r = await cli(['reconcile', ...s.flags]);
    expect(r.code).toBe(0);
    expect(s.entries('alias')).toEqual(['192.0.2.7']);
  });
});

describe('fail2git plan and status', () => {
  it('plan lists + and - per target and a summary; --detailed-exitcode 3 on changes, 0 when in line', async () => {
    const s = setup([{ cidr: '192.0.2.7' }, { cidr: '2001:db8:beef::17' }]);
    writeFileSync(s.list('alias'), '198.51.100.1\n');
    const r = await cli(['plan', ...s.flags]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('target alias (file): 2 to add, 1 to remove (holds 1)');
    expect(r.stdout).toMatch(/^ {2}\+ 192\.0\.2\.7$/m);
    expect(r.stdout).toMatch(/^ {2}\+ 2001:db8:beef::17$/m);
    expect(r.stdout).toMatch(/^ {2}- 198\.51\.100\.1$/m);
    expect(r.stdout).toContain('Plan: 2 to add, 1 to remove, across 1 of 1 target(s).');
    expect(readFileSync(s.list('alias'), 'utf8')).toBe('198.51.100.1\n');
    expect((await cli(['plan', '--detailed-exitcode', ...s.flags])).code).toBe(3);
    const json = stdoutJson<{ add: number; remove: number; targets: { name: string; add: string[]; remove: string[] }[] }>(await cli(['plan', '--json', ...s.flags]));
    expect(json).toMatchObject({ add: 2, remove: 1, targets: [{ name: 'alias', add: ['192.0.2.7', '2001:db8:beef::17'], remove: ['198.51.100.1'] }] });
    await cli(['reconcile', ...s.flags]);
    const after = await cli(['plan', '--detailed-exitcode', ...s.flags]);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('No changes.');
  });

  it('plan and status say how many entries were folded and how many a full target left out', async () => {
    const s = setup([{ cidr: '203.0.113.0/24' }, { cidr: '203.0.113.7' }, { cidr: '198.51.100.1' }, { cidr: '198.51.100.2' }, { cidr: '2001:db8:77::1' }],
      (dir) => [{ name: 'alias', hosts: ['web*'], options: { path: join(dir, 'alias.txt'), format: 'txt', maxEntries: 3 } }]);
    const plan = await cli(['plan', ...s.flags]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('target alias (file): 3 to add, 0 to remove (holds 0; 1 folded into broader entries; FULL: 1 left out, capacity 3)');
    expect(plan.stdout).not.toContain('+ 203.0.113.7');
    const json = stdoutJson<{ targets: { folded: number; leftOut: number; capacity: number }[] }>(await cli(['plan', '--json', ...s.flags]));
    expect(json.targets[0]).toMatchObject({ folded: 1, leftOut: 1, capacity: 3 });
    const run = await cli(['reconcile', ...s.flags]);
    expect(run.code, run.stderr).toBe(0);
    expect(s.entries('alias')).toHaveLength(3);
    expect(s.entries('alias')).toContain('203.0.113.0/24');
    const st = await cli(['status', '--state-dir', s.stateDir]);
    expect(st.stdout).toMatch(/^\s+1 folded \(covered by a broader enforced entry\)$/m);
    expect(st.stdout).toMatch(/^\s+FULL: 1 desired entries left out \(capacity 3\); the most important are enforced$/m);
  });

  it('status shows the last run, commit, per-target counts and drift corrected', async () => {
    const s = setup([{ cidr: '192.0.2.7' }, { cidr: '192.0.2.8' }]);
    expect((await cli(['status', '--state-dir', s.stateDir])).code).toBe(1);
    await cli(['reconcile', ...s.flags]);
    writeFileSync(s.list('alias'), '192.0.2.7\n203.0.113.9\n'); // someone edited the list by hand
    await cli(['reconcile', ...s.flags]);
    const st = await cli(['status', '--state-dir', s.stateDir]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/^result\s+ok: Applied/m);
    expect(st.stdout).toContain(`commit        ${s.remote.head().slice(0, 12)} applied`);
    expect(st.stdout).toMatch(/alias\s+file\s+Applied\s+2 entries\s+last \+1 -1\s+drift corrected 2\s+errors 0/);
    const json = stdoutJson<{ runsTotal: number; targets: Record<string, { driftCorrectedTotal: number }> }>(await cli(['status', '--json', ...s.flags]));
    expect(json.runsTotal).toBe(2);
    expect(json.targets.alias!.driftCorrectedTotal).toBe(2);
  });
});

const skip = kernelSkipReason(['ip', 'ipset']);
describe.skipIf(skip !== undefined)('fail2git reconcile --watch on a real ipset target in a network namespace', () => {
  let ns: Netns | undefined;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
    await ns?.destroy();
    ns = undefined;
  });

  async function members(n: Netns, set: string): Promise<string[]> {
    const { stdout } = await n.run('ipset', ['list', '-o', 'save', `${set}-v4`]).catch(() => ({ stdout: '' }));
    return stdout.split('\n').filter((l) => l.startsWith('add ')).map((l) => l.split(' ')[2]!).sort();
  }

  async function until(what: () => Promise<boolean>, ms: number): Promise<number> {
    const start = Date.now();
    while (Date.now() - start < ms) {
      if (await what()) return Date.now();
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out after ${ms} ms`);
  }

  it('expires a 3 s TTL entry within 2 s of its expiry, picks up new bans, and stops on SIGTERM without flushing', async () => {
    ns = await createNetns('f2gw');
    const set = uniqueName('f2gw');
    const expires = new Date(Math.ceil((Date.now() + 3_000) / 1000) * 1000);
    const s = setup([{ cidr: '192.0.2.7', expires }, { cidr: '192.0.2.8' }], () => [{ name: 'kernel', driver: 'ipset', options: { setName: set, enforce: 'none' } }]);
    child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, CLI, 'reconcile', '--watch', '--interval', '1s', ...s.flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const n = ns;
    await until(async () => (await members(n, set)).length === 2, 15_000);
    expect(await members(n, set)).toEqual(['192.0.2.7', '192.0.2.8']);
    const gone = await until(async () => !(await members(n, set)).includes('192.0.2.7'), 15_000);
    expect(gone - expires.getTime()).toBeLessThan(2_000);
    s.remote.commit({ 'bans/active.yaml': banList([{ cidr: '192.0.2.8' }, { cidr: '192.0.2.9' }]) });
    await until(async () => (await members(n, set)).includes('192.0.2.9'), 10_000);
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await members(n, set)).toEqual(['192.0.2.8', '192.0.2.9']);
    expect(jsonLines(stderr).map((e) => e.event)).toEqual(expect.arrayContaining(['watch.start', 'apply', 'watch.stop']));
  });
});

describe('fail2git status --fleet', () => {
  it('shows every host that reconciled this ledger (their published records)', async () => {
    const s = setup([{ cidr: '192.0.2.7' }], () => [{ name: 'alias', options: { format: 'txt' } }]);
    const other = ['--remote', s.remote.bare, '--host', 'web2', '--state-dir', join(s.dir, 'state2')];
    expect((await cli(['reconcile', ...s.flags])).code).toBe(0);
    expect((await cli(['reconcile', ...other])).code).toBe(0);
    const text = await cli(['status', '--fleet', ...s.flags]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/web1/);
    expect(text.stdout).toMatch(/web2/);
    const view = stdoutJson<{ hosts: { host: string; silent: boolean }[] }>(await cli(['status', '--fleet', '--json', ...s.flags]));
    expect(view.hosts.map((h) => h.host).sort()).toEqual(['web1', 'web2']);
    expect(view.hosts.every((h) => !h.silent)).toBe(true);
  });
});

describe('fail2git plan with the removal guard', () => {
  it('marks held removals and says how to proceed; a plan is not a failure (exit 0, 3 with --detailed-exitcode)', async () => {
    const many = Array.from({ length: 24 }, (_, i) => ({ cidr: `198.51.100.${i + 1}` }));
    const s = setup(many);
    await cli(['reconcile', ...s.flags]);
    s.remote.commit({ 'bans/active.yaml': banList([{ cidr: '192.0.2.1' }]) });
    const r = await cli(['plan', ...s.flags]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}- 198\.51\.100\.1 {2}\(held: removal guard\)$/m);
    expect(r.stdout).toMatch(/^ {2}! refusing to remove 24 of 24 entries .*--force$/m);
    expect((await cli(['plan', '--detailed-exitcode', ...s.flags])).code).toBe(3);
    const json = stdoutJson<{ targets: { held: string[]; remove: string[]; guard: string }[] }>(await cli(['plan', '--json', ...s.flags]));
    expect(json.targets[0]!.held).toHaveLength(24);
    expect(json.targets[0]!.remove).toEqual([]);
    expect(json.targets[0]!.guard).toMatch(/^refusing to remove 24/);
  });
});
