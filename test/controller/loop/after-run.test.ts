import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterRun } from '../../../controller/loop/after-run.js';
import { createMemoryLogger } from '../../../controller/lib/log.js';
import { DEFAULT_POLICY } from '../../../controller/ledger/types.js';
import type { RunStatus } from '../../../controller/status/run-status.js';
import { writeLastGood } from '../../../controller/reconcile/last-good.js';
import { git, makeLedgerRemote } from '../../helpers/git.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(() => cleanupTmp());

const NOW = new Date('2026-11-25T12:00:00Z');

function status(host: string, applied: string, dryRun = false): RunStatus {
  return {
    version: 1, host, startedAt: '2026-11-25T11:59:59Z', finishedAt: '2026-11-25T12:00:00Z', durationSeconds: 0.2,
    reason: 'UpToDate', message: 'nothing to change', ok: true, dryRun,
    remote: { url: 'x', reachable: true }, commit: { applied, tipProblems: [] }, desired: { entries: 1, skipped: {} },
    targets: {}, runsTotal: 1,
  };
}

describe('afterRun', () => {
  it('publishes the fleet record and, on the gcHost, collects expired lines', async () => {
    const remote = makeLedgerRemote({
      'bans/active.yaml': 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 192.0.2.1, expires: 2026-11-25T10:00:00Z}\n  - {cidr: 192.0.2.2}\n',
    });
    const stateDir = tmpDir('f2g-after');
    const cfg = { host: 'web1', remote: remote.bare, branch: 'main', stateDir, interval: '30s', metricsFile: join(stateDir, 'fail2git.prom') };
    const ledger = { bans: [{ cidr: '192.0.2.1', expires: '2026-11-25T10:00:00Z' }, { cidr: '192.0.2.2' }], policy: { ...DEFAULT_POLICY, gcHost: 'web1' } };
    const log = createMemoryLogger();
    const applied = remote.head();
    const r = await afterRun(cfg, status('web1', applied), log, '0.1.0', { ledger, now: NOW });
    expect(r.published).toBe(true);
    expect(r.gc?.expired.map((e) => e.cidr)).toEqual(['192.0.2.1']);
    expect(git(remote.bare, 'rev-parse', '--verify', 'refs/fail2git/status/web1')).toMatch(/^[0-9a-f]{40}$/);
    expect(git(remote.bare, 'log', '-1', '--format=%s', 'main')).toBe('gc: expire 1 ban');
    expect(readFileSync(join(stateDir, 'fail2git-gc.prom'), 'utf8')).toContain('fail2git_gc_removed_entries 1');
    expect(log.lines.map((l) => l.event)).toEqual(['fleet.published', 'gc']);

    // The next run with nothing new: no publish (unchanged), no gc (nothing collectable).
    const again = await afterRun(cfg, status('web1', applied), log, '0.1.0', { ledger: { bans: [ledger.bans[1]!], policy: ledger.policy }, now: new Date(NOW.getTime() + 5000) });
    expect(again).toEqual({ published: false, gc: null });
  });

  it('without a ledger, reads the enforced one from the host clone and last-good snapshot, only on the gcHost', async () => {
    const policy = (host: string) => `apiVersion: fail2git/v1\nkind: Policy\nspec:\n  gcHost: ${host}\n  gcGrace: 1h\n`;
    const remote = makeLedgerRemote({
      'bans/active.yaml': 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 192.0.2.1, expires: 2026-11-25T10:00:00Z}\n',
      'bans/policy.yaml': policy('web1'),
    });
    const stateDir = tmpDir('f2g-after');
    git(stateDir, 'clone', '-q', remote.bare, join(stateDir, 'ledger')); // stands in for the reconciler's clone
    const applied = remote.head();
    writeLastGood(stateDir, applied, NOW, { bans: [{ cidr: '192.0.2.1', expires: '2026-11-25T10:00:00Z' }], allow: [], targets: [],
      policy: { ...DEFAULT_POLICY, gcHost: 'web1' }, source: { dir: stateDir, rev: applied } });
    const cfg = (host: string) => ({ host, remote: remote.bare, branch: 'main', stateDir, interval: '30s', metricsFile: join(stateDir, 'fail2git.prom') });
    const other = await afterRun(cfg('web2'), status('web2', applied), createMemoryLogger(), '0.1.0', { now: NOW });
    expect(other.gc).toBeNull();
    expect(remote.head()).toBe(applied);
    const mine = await afterRun(cfg('web1'), status('web1', applied), createMemoryLogger(), '0.1.0', { now: NOW });
    expect(mine.gc?.expired.map((e) => e.cidr)).toEqual(['192.0.2.1']);
    expect(remote.head()).toBe(mine.gc!.commit);
  });

  it('never throws: an unreachable remote is two warnings, and a dry run never collects', async () => {
    const stateDir = tmpDir('f2g-after');
    const cfg = { host: 'web1', remote: join(stateDir, 'gone.git'), branch: 'main', stateDir, interval: '30s', metricsFile: join(stateDir, 'm', 'fail2git.prom') };
    const ledger = { bans: [{ cidr: '192.0.2.1', expires: '2026-11-25T10:00:00Z' }], policy: { ...DEFAULT_POLICY, gcHost: 'web1' } };
    const log = createMemoryLogger();
    const r = await afterRun(cfg, status('web1', 'a'.repeat(40)), log, '0.1.0', { ledger, now: NOW });
    expect(r).toEqual({ published: false, gc: null });
    expect(log.lines.map((l) => [l.level, l.event])).toEqual([['warn', 'fleet.publish-failed'], ['warn', 'gc.failed']]);
    expect(readFileSync(join(stateDir, 'm', 'fail2git-gc.prom'), 'utf8')).toContain('fail2git_gc_last_success 0');
    const dry = createMemoryLogger();
    await afterRun(cfg, status('web1', 'a'.repeat(40), true), dry, '0.1.0', { ledger, now: NOW });
    expect(dry.lines.map((l) => l.event)).toEqual(['fleet.publish-failed']);
    expect(existsSync(join(stateDir, 'gc.git'))).toBe(true); // from the first call only
  });
});
