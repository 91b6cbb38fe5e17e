import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { fleetStatus, publishHostStatus, readFleet, recordFromRun, renderFleet, shouldPublish, type FleetRecord } from '../../../controller/fleet/remote.js';
import { readFileSync } from 'node:fs';
import { renderFleetMetrics } from '../../../controller/fleet/metrics.js';
import type { RunStatus } from '../../../controller/status/run-status.js';
import { git, makeLedgerRemote } from '../../helpers/git.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(() => cleanupTmp());

const NOW = new Date('2026-11-25T12:00:00Z');

function record(host: string, applied: string, extra: Partial<FleetRecord> = {}): Omit<FleetRecord, 'seen'> {
  return { version: 1, host, appliedCommit: applied, reason: 'UpToDate', targets: { kernel: { entries: 6 } }, software: '0.1.0', interval: '30s', ...extra };
}

function runStatus(host: string, applied: string): RunStatus {
  return {
    version: 1, host, startedAt: '2026-11-25T11:59:59Z', finishedAt: '2026-11-25T12:00:00Z', durationSeconds: 0.4,
    reason: 'TargetsFailed', message: '1 of 1 targets failed: kernel: ipset: command not found (is it installed?)', ok: false, dryRun: false,
    remote: { url: 'x', reachable: true }, commit: { applied, tipProblems: [] }, desired: { entries: 6, skipped: {} },
    targets: { kernel: { driver: 'ipset', reason: 'ApplyFailed', entries: 0, added: 0, removed: 0, heldRemovals: 0, error: 'ipset: command not found (is it installed?)',
      errorsTotal: 1, driftCorrectedTotal: 0, driftLast: { readded: 0, removed: 0 } } },
    runsTotal: 3,
  };
}

describe('fleet status on a real remote', () => {
  it('shows 3 reconcilers at different commits, one failing, one stopped', async () => {
    const remote = makeLedgerRemote();
    const c0 = remote.head();
    const c1 = remote.commit({ 'bans/notes.txt': 'one\n' }, 'change one');
    const c2 = remote.commit({ 'bans/notes.txt': 'two\n' }, 'change two');
    const root = tmpDir('f2g-fleet');
    const repo = (h: string) => ({ remote: remote.bare, branch: 'main', stateDir: join(root, h) });

    expect((await publishHostStatus(repo('web1'), record('web1', c2), NOW)).published).toBe(true);
    expect((await publishHostStatus(repo('web2'), recordFromRun(runStatus('web2', c0), '0.1.0', '30s'), NOW)).published).toBe(true);
    // mail1 stopped ten minutes ago (its last record is old).
    expect((await publishHostStatus(repo('mail1'), record('mail1', c1), new Date(NOW.getTime() - 600_000))).published).toBe(true);

    expect(remote.head()).toBe(c2); // the ledger branch is untouched
    expect(git(remote.bare, 'for-each-ref', '--format=%(refname)', 'refs/fail2git/status/').split('\n')).toEqual([
      'refs/fail2git/status/mail1', 'refs/fail2git/status/web1', 'refs/fail2git/status/web2',
    ]);

    const view = await readFleet(repo('admin'), NOW);
    expect(view.tip).toBe(c2);
    const by = Object.fromEntries(view.hosts.map((h) => [h.host, h]));
    expect(by.web1).toMatchObject({ lagCommits: 0, lagSeconds: 0, silent: false, seenAgoSeconds: 0 });
    expect(by.web2).toMatchObject({ lagCommits: 2, silent: false });
    expect(by.web2!.record.lastError).toMatch(/ipset: command not found/);
    expect(by.web2!.record.targets.kernel).toEqual({ entries: 0, error: 'ipset: command not found (is it installed?)' });
    expect(by.mail1).toMatchObject({ lagCommits: 1, silent: true, seenAgoSeconds: 600 });

    const text = renderFleet(view);
    expect(text).toMatch(/^HOST\s+APPLIED\s+BEHIND\s+LAST SEEN\s+ERRORS/);
    expect(text).toMatch(/web1\s+\w{12}\s+up to date\s+0s ago\s+-/);
    expect(text).toMatch(/web2\s+\w{12}\s+2 commits, \S+\s+0s ago\s+1 of 1 targets failed/);
    expect(text).toMatch(/mail1\s+\w{12}\s+1 commit, \S+\s+10m ago SILENT \(>3×30s\)/);
    expect(text).toContain('3 hosts, 1 with errors, 1 silent');

    const metricsFile = join(root, 'admin', 'fail2git.prom');
    const cli = await fleetStatus({ ...repo('admin'), metricsFile }, { now: NOW });
    expect(cli.exitCode).toBe(1); // one failing, one silent: a finding
    expect(cli.output).toBe(text);
    expect(readFileSync(join(root, 'admin', 'fail2git-fleet.prom'), 'utf8')).toContain('fail2git_fleet_hosts 3');
    expect(JSON.parse((await fleetStatus(repo('admin'), { json: true, now: NOW })).output).hosts).toHaveLength(3);

    const prom = renderFleetMetrics(view);
    expect(prom).toContain('fail2git_fleet_lag_commits{host="web2"} 2');
    expect(prom).toContain('fail2git_fleet_silent{host="mail1"} 1');
    expect(prom).toContain('fail2git_fleet_error{host="web2"} 1');
  });

  it('publishes at most when the record changed or its heartbeat is due', async () => {
    const remote = makeLedgerRemote();
    const head = remote.head();
    const repo = { remote: remote.bare, branch: 'main', stateDir: tmpDir('f2g-fleet') };
    const first = await publishHostStatus(repo, record('web1', head), NOW);
    expect(first.published).toBe(true);
    const same = await publishHostStatus(repo, record('web1', head, { runAt: 'later' }), new Date(NOW.getTime() + 10_000));
    expect(same.published).toBe(false);
    expect(git(remote.bare, 'rev-parse', 'refs/fail2git/status/web1')).toBe(first.commit);
    const changed = await publishHostStatus(repo, record('web1', head, { lastError: 'boom' }), new Date(NOW.getTime() + 20_000));
    expect(changed.published).toBe(true);
    expect(git(remote.bare, 'rev-parse', 'refs/fail2git/status/web1')).toBe(changed.commit);
    const view = await readFleet(repo, new Date(NOW.getTime() + 20_000));
    expect(view.hosts[0]!.record.lastError).toBe('boom');
  });

  it('shouldPublish: heartbeat after 1.5 intervals', () => {
    const last: FleetRecord = { ...record('web1', 'a'.repeat(40)), seen: '2026-11-25T12:00:00Z' };
    expect(shouldPublish(record('web1', 'a'.repeat(40)), last, new Date('2026-11-25T12:00:44Z'))).toBe(false);
    expect(shouldPublish(record('web1', 'a'.repeat(40)), last, new Date('2026-11-25T12:00:45Z'))).toBe(true);
    expect(shouldPublish(record('web1', 'b'.repeat(40)), last, new Date('2026-11-25T12:00:01Z'))).toBe(true);
    expect(shouldPublish(record('web1', 'a'.repeat(40)), undefined, NOW)).toBe(true);
  });
});
