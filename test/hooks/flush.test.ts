/**
 * Delivery guarantees of the spool + flusher (DESIGN rule 1) with real git and the real CLI:
 * outages, kill -9 mid-flush, and many hosts hooking at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeLedgerRemote, startGitDaemon, git } from '../helpers/git.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { newOpId, spoolOperation } from '../../hooks/spool.js';
import type { Operation } from '../../hooks/operations.js';
import { commitCount, hookArgs, makeHost, remoteBans, setRemote, settled, spooled, waitFor, type TestHost, quietHosts } from '../helpers/hook-host.js';
import { CLI, cli } from '../helpers/cli.js';

afterAll(async () => {
  await quietHosts();
  cleanupTmp();
});

function spoolBan(host: TestHost, ip: string): Operation {
  const op: Operation = {
    v: 1, id: newOpId(host.name), op: 'ban', cidr: ip, widen: true, at: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    by: host.name, host: host.name, jail: 'sshd', ttl: 3600, escalate: true,
  };
  spoolOperation(host.spool, op);
  return op;
}

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('outage', () => {
  it('remote moved away: hooks return 0, operations wait; remote back: one flush delivers all in one commit', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'web1');
    expect((await cli(['flush', '--config', host.config])).code).toBe(0);
    const away = `${remote.bare}.away`;
    renameSync(remote.bare, away);
    const ips = ['203.0.113.60', '203.0.113.61', '203.0.113.62'];
    for (const ip of ips) {
      const res = await cli(hookArgs(host, 'ban', ip));
      expect(res.code).toBe(0);
      expect(res.stderr).toBe('');
    }
    await waitFor('background flushers to give up', () => !existsSync(join(host.stateDir, 'flush.lock')));
    expect(spooled(host)).toHaveLength(3);
    const failed = await cli(['flush', '--config', host.config]);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(failed.stderr).toMatch(/operations wait in the spool: cannot fetch main/);
    const pending = JSON.parse((await cli(['pending', '--json', '--config', host.config])).stdout) as { pending: Operation[]; lastFlush: { ok: boolean } };
    expect(pending.pending.map((o) => o.cidr)).toEqual(ips);
    expect(pending.lastFlush.ok).toBe(false);
    renameSync(away, remote.bare);
    const before = commitCount(remote.bare);
    const ok = await cli(['flush', '--config', host.config]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^delivered 3 operations in 1 commit/);
    expect(commitCount(remote.bare)).toBe(before + 1);
    expect(git(remote.bare, 'log', '-1', '--format=%s', 'main')).toBe('fail2git web1: 3 operations');
    expect(remoteBans(remote.bare).filter((b) => ips.includes(b.cidr))).toHaveLength(3);
    expect(spooled(host)).toEqual([]);
  });

  it('git daemon stopped: hooks return 0 within the same latency; a new daemon: flush delivers', async () => {
    const remote = makeLedgerRemote();
    const base = join(remote.bare, '..');
    let daemon = await startGitDaemon(base);
    const host = makeHost(daemon.url('ledger.git'), 'web2');
    const up = await cli(hookArgs(host, 'ban', '203.0.113.70'));
    await waitFor('delivered over git://', () => remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.70'));
    await daemon.stop();
    const down = await cli(hookArgs(host, 'ban', '203.0.113.71'));
    expect(down.code).toBe(0);
    expect(down.ms).toBeLessThan(Math.max(3 * up.ms, 1500));
    await waitFor('flusher gave up', () => !existsSync(join(host.stateDir, 'flush.lock')));
    expect(spooled(host)).toHaveLength(1);
    daemon = await startGitDaemon(base);
    try {
      setRemote(host, daemon.url('ledger.git'));
      expect((await cli(['flush', '--config', host.config])).code).toBe(0);
      expect(remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.71')).toBe(true);
      expect(spooled(host)).toEqual([]);
    } finally {
      await daemon.stop();
    }
  });
});

describe('invalid ledger at the tip', () => {
  it('is never written onto: operations wait with one clear line, and go through once it is fixed', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'web3');
    const good = git(remote.bare, 'show', 'main:bans/active.yaml');
    remote.commit({ 'bans/active.yaml': good.replace('cidr: 198.51.100.7,', 'cidr: 198.51.100.300,') + '\n' }, 'broken by hand');
    spoolBan(host, '203.0.113.90');
    const res = await cli(['flush', '--config', host.config]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(/^fail2git: flush failed, operations wait in the spool: ledger at [0-9a-f]{12} is invalid \(bans\/active\.yaml:\d+:\d+: .*198\.51\.100\.300/);
    expect(spooled(host)).toHaveLength(1);
    expect(git(remote.bare, 'log', '-1', '--format=%s', 'main')).toBe('broken by hand');
    remote.commit({ 'bans/active.yaml': good + '\n' }, 'fixed');
    expect((await cli(['flush', '--config', host.config])).code).toBe(0);
    expect(remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.90')).toBe(true);
    expect(spooled(host)).toEqual([]);
  });
});

describe('refusal at flush time', () => {
  it('a host without a guard cache spools an allowlisted ban; the flusher refuses it against the ledger and keeps it aside', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'web5');
    const res = await cli(hookArgs(host, 'ban', '192.0.2.5'));
    expect(res.code).toBe(0); // no guard.json yet: only the default limits were checked
    await waitFor('flushed', () => settled(host));
    expect(remoteBans(remote.bare).some((b) => b.cidr === '192.0.2.5')).toBe(false);
    const pending = JSON.parse((await cli(['pending', '--json', '--config', host.config])).stdout) as { pending: unknown[]; refused: number };
    expect(pending).toMatchObject({ pending: [], refused: 1 });
    const again = await cli(hookArgs(host, 'ban', '192.0.2.5'));
    expect(again.code).toBe(0); // the flush above cached the allowlist: refused at once (exit 0, not a failure for fail2ban to retry)
    expect(again.stderr).toMatch(/^fail2git: refusing to ban 192\.0\.2\.5 network-wide: .*allowlisted/);
    expect(spooled(host)).toEqual([]);
  });
});

describe('the flusher never pushes a ledger validate rejects', () => {
  it('an operation whose entry validate would reject is refused alone with its reason; the rest are delivered', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'web6');
    const good = spoolBan(host, '203.0.113.61');
    // A damaged spool file: a reason past the schema's 1024 characters.
    const bad: Operation = { ...spoolBan(host, '203.0.113.62'), reason: 'x'.repeat(2000) };
    spoolOperation(host.spool, bad);
    const res = await cli(['flush', '--config', host.config]);
    expect(res.code).toBe(1); // something was refused
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/refused ban 203\.0\.113\.62: would make the ledger invalid: .*1024/);
    expect(remoteBans(remote.bare).map((b) => b.cidr)).toContain('203.0.113.61'); // remoteBans throws on an invalid ledger
    expect(remoteBans(remote.bare).map((b) => b.cidr)).not.toContain('203.0.113.62');
    git(remote.work, 'pull', '-q', '--ff-only', 'origin', 'main');
    const v = await cli(['validate', '--ledger', remote.work]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const pending = JSON.parse((await cli(['pending', '--json', '--config', host.config])).stdout) as { pending: unknown[]; refusedOps: { id: string; refused: string }[] };
    expect(pending.pending).toEqual([]);
    expect(pending.refusedOps).toEqual([expect.objectContaining({ id: bad.id, refused: expect.stringMatching(/would make the ledger invalid/) })]);
    expect(good.id).not.toBe(bad.id);
  });
});

describe('kill -9 of a flusher', () => {
  it('at random points (20 trials): after the next flush nothing is lost and nothing applied twice', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'web1');
    expect((await cli(['flush', '--config', host.config])).code).toBe(0);
    const fresh: string[] = [];
    let repeats = 0;
    for (let trial = 0; trial < 20; trial++) {
      const ip = `203.0.114.${trial + 1}`;
      fresh.push(ip);
      spoolBan(host, ip);
      spoolBan(host, '198.51.100.99'); // the same offender every trial: its count must be exact
      repeats++;
      const child = spawn(process.execPath, [CLI, 'flush', '--config', host.config], { stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, Math.random() * 600));
      child.kill('SIGKILL');
      await exited;
    }
    const res = await cli(['flush', '--config', host.config]);
    expect(res.code, res.stderr).toBe(0);
    const bans = remoteBans(remote.bare);
    for (const ip of fresh) expect(bans.filter((b) => b.cidr === ip), ip).toHaveLength(1);
    expect(bans.find((b) => b.cidr === '198.51.100.99')!.count).toBe(repeats);
    expect(spooled(host)).toEqual([]);
  }, 120_000);
});

describe('concurrency', () => {
  it('4 hosts × 100 bans fired concurrently: all 400 present once, ledger valid, spools empty', async () => {
    const remote = makeLedgerRemote();
    const hosts = ['h1', 'h2', 'h3', 'h4'].map((n) => makeHost(remote.bare, n));
    const calls = hosts.flatMap((h, hi) => Array.from({ length: 100 }, (_, i) => ({ h, ip: `10.${hi + 1}.${Math.floor(i / 50)}.${(i % 50) + 1}` })));
    const failures: string[] = [];
    await pool(calls, 12, async ({ h, ip }) => {
      const res = await cli(hookArgs(h, 'ban', ip));
      if (res.code !== 0) failures.push(`${ip}: ${res.code} ${res.stderr}`);
    });
    expect(failures).toEqual([]);
    await waitFor('all spools drained', () => hosts.every(settled), 120_000);
    const bans = remoteBans(remote.bare);
    for (const { ip } of calls) expect(bans.filter((b) => b.cidr === ip), ip).toHaveLength(1);
    const clone = join(remote.work, '..', 'check');
    git(join(remote.work, '..'), 'clone', '-q', remote.bare, clone);
    const valid = await cli(['validate', '--ledger', clone]);
    expect(valid.code, valid.stdout + valid.stderr).toBe(0);
    rmSync(clone, { recursive: true, force: true });
  }, 240_000);
});

describe('operations are applied by their time (two hosts, real git)', () => {
  const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  function spoolOp(host: TestHost, fields: Partial<Operation> & Pick<Operation, 'op' | 'cidr' | 'at'>): void {
    spoolOperation(host.spool, { v: 1, id: newOpId(host.name), widen: true, by: host.name, host: host.name, jail: 'sshd', ...(fields.op === 'unban' ? {} : { ttl: 3600 }), ...fields });
  }
  async function flush(host: TestHost): Promise<void> {
    const r = await cli(['flush', '--config', host.config]);
    expect(r.code, r.stderr).toBe(0);
  }

  it('an unban queued on an offline host does not delete the ban another host made after it', async () => {
    const remote = makeLedgerRemote();
    const web1 = makeHost(remote.bare, 'web1');
    const mail1 = makeHost(remote.bare, 'mail1');
    const now = Date.now();
    spoolOp(web1, { op: 'ban', cidr: '203.0.113.80', at: iso(now - 120_000) });
    await flush(web1);
    // web1 goes offline with an unban asked a minute ago; meanwhile mail1 bans again.
    spoolOp(web1, { op: 'unban', cidr: '203.0.113.80', at: iso(now - 60_000) });
    spoolOp(mail1, { op: 'ban', cidr: '203.0.113.80', at: iso(now - 30_000) });
    await flush(mail1);
    await flush(web1);
    expect(remoteBans(remote.bare).find((b) => b.cidr === '203.0.113.80')).toMatchObject({ by: 'mail1', at: iso(now - 30_000) });
    expect(spooled(web1)).toEqual([]); // delivered (as kept), not left waiting
  });

  it('a ban made before an unban but delivered after it (its host was offline) is not re-added', async () => {
    const remote = makeLedgerRemote();
    const web1 = makeHost(remote.bare, 'web1');
    const web2 = makeHost(remote.bare, 'web2');
    const mail1 = makeHost(remote.bare, 'mail1');
    const now = Date.now();
    spoolOp(web1, { op: 'ban', cidr: '203.0.113.82', at: iso(now - 120_000) });
    await flush(web1);
    // mail1 banned it too, a minute before web2 unbanned it, but was offline until now.
    spoolOp(mail1, { op: 'ban', cidr: '203.0.113.82', at: iso(now - 90_000) });
    spoolOp(web2, { op: 'unban', cidr: '203.0.113.82', at: iso(now - 60_000) });
    await flush(web2);
    await flush(mail1);
    expect(remoteBans(remote.bare).map((b) => b.cidr)).not.toContain('203.0.113.82');
    expect(spooled(mail1)).toEqual([]);
    // a ban made after the unban is a new ban
    spoolOp(mail1, { op: 'ban', cidr: '203.0.113.82', at: iso(now - 30_000) });
    await flush(mail1);
    expect(remoteBans(remote.bare).map((b) => b.cidr)).toContain('203.0.113.82');
  });

  it('a ban and an unban of one address in the same second end banned, whichever is pushed first', async () => {
    const second = iso(Date.now() - 10_000);
    for (const order of ['ban first', 'unban first'] as const) {
      const remote = makeLedgerRemote();
      const web1 = makeHost(remote.bare, 'web1');
      const web2 = makeHost(remote.bare, 'web2');
      spoolOp(web2, { op: 'ban', cidr: '203.0.113.81', at: iso(Date.now() - 60_000) });
      await flush(web2);
      spoolOp(web1, { op: 'ban', cidr: '203.0.113.81', at: second });
      spoolOp(web2, { op: 'unban', cidr: '203.0.113.81', at: second });
      if (order === 'ban first') {
        await flush(web1);
        await flush(web2);
      } else {
        await flush(web2);
        await flush(web1);
      }
      expect(remoteBans(remote.bare).map((b) => b.cidr), order).toContain('203.0.113.81');
    }
  });
});

describe('unbansIn', () => {
  it('reads the latest unban per key from the commits\' trailers, ignoring bans and unbans dated far ahead', async () => {
    const { unbansIn } = await import('../../hooks/flush.js');
    const log = [
      'unban 203.0.113.9 (web1)\n\nFail2git-Op: unban\nFail2git-Cidr: 203.0.113.9\nFail2git-Host: web1\nFail2git-At: 2026-11-25T10:00:00Z\nFail2git-Id: a',
      'x\n\nFail2git-Op: ban\nFail2git-Cidr: 203.0.113.8\nFail2git-At: 2026-11-25T11:00:00Z\nFail2git-Op: unban\nFail2git-Cidr: 203.0.113.9\nFail2git-At: 2026-11-25T09:00:00Z',
      'forged\n\nFail2git-Op: unban\nFail2git-Cidr: 203.0.113.7\nFail2git-At: 2099-01-01T00:00:00Z',
    ].map((body, i) => ({ id: `unbans-in-test-${i}`, body }));
    expect([...unbansIn(log, new Date('2026-11-25T12:00:00Z'))]).toEqual([['203.0.113.9', '2026-11-25T10:00:00Z']]);
  });
});
