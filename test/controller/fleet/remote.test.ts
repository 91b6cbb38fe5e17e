import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { fleetStatus, heartbeatMs, publishHostStatus, readFleet, readFleetSize, recordFromRun, renderFleet, shouldPublish, type FleetRecord } from '../../../controller/fleet/remote.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { renderFleetMetrics } from '../../../controller/fleet/metrics.js';
import { parseFleetRecord, silence } from '../../../controller/fleet/record.js';
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
    expect(by.web2!.record!.lastError).toMatch(/ipset: command not found/);
    expect(by.web2!.record!.targets.kernel).toEqual({ entries: 0, error: 'ipset: command not found (is it installed?)' });
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
    expect(view.hosts[0]!.record!.lastError).toBe('boom');
  });

  it('shouldPublish: heartbeat after 1.5 intervals', () => {
    const last: FleetRecord = { ...record('web1', 'a'.repeat(40)), seen: '2026-11-25T12:00:00Z' };
    expect(shouldPublish(record('web1', 'a'.repeat(40)), last, new Date('2026-11-25T12:00:44Z'))).toBe(false);
    expect(shouldPublish(record('web1', 'a'.repeat(40)), last, new Date('2026-11-25T12:00:45Z'))).toBe(true);
    // Progress (a newer applied commit) waits one interval, not a heartbeat; health goes at once.
    expect(shouldPublish(record('web1', 'b'.repeat(40)), last, new Date('2026-11-25T12:00:29Z'))).toBe(false);
    expect(shouldPublish(record('web1', 'b'.repeat(40)), last, new Date('2026-11-25T12:00:30Z'))).toBe(true);
    expect(shouldPublish(record('web1', 'a'.repeat(40), { lastError: 'boom' }), last, new Date('2026-11-25T12:00:01Z'))).toBe(true);
    expect(shouldPublish(record('web1', 'a'.repeat(40)), undefined, NOW)).toBe(true);
  });
});

/** Writes `text` as status.json under `ref` straight into the bare remote (as any pusher could). */
function plantRecord(bare: string, ref: string, text: string, file = 'status.json'): void {
  const env = { ...process.env, GIT_AUTHOR_NAME: 'x', GIT_AUTHOR_EMAIL: 'x@example.invalid', GIT_COMMITTER_NAME: 'x', GIT_COMMITTER_EMAIL: 'x@example.invalid' };
  const run = (args: string[], input = '') => execFileSync('git', ['-C', bare, ...args], { input, env, encoding: 'utf8' }).trim();
  const blob = run(['hash-object', '-w', '--stdin'], text);
  const tree = run(['mktree'], `100644 blob ${blob}\t${file}\n`);
  run(['update-ref', ref, run(['commit-tree', tree, '-m', 'planted'])]);
}

describe('fleet records are untrusted input', () => {
  const good = (host: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ ...record(host, 'a'.repeat(40)), seen: '2026-11-25T11:59:50Z', ...extra });

  async function fleetOf(records: Record<string, string>, other: Record<string, string> = {}) {
    const remote = makeLedgerRemote();
    for (const [ref, text] of Object.entries(records)) plantRecord(remote.bare, `refs/fail2git/status/${ref}`, text);
    for (const [ref, text] of Object.entries(other)) plantRecord(remote.bare, `refs/fail2git/status/${ref}`, text, 'README');
    const repo = { remote: remote.bare, branch: 'main', stateDir: tmpDir('f2g-fleet-hostile') };
    return { remote, repo, result: await fleetStatus({ ...repo, metricsFile: join(repo.stateDir, 'fail2git.prom') }, { now: NOW }) };
  }

  it('shows a record without targets (or not JSON, or without status.json) as its own flagged row, never a crash', async () => {
    const { result, repo } = await fleetOf({
      web1: good('web1'),
      broken: JSON.stringify({ version: 1, host: 'broken', interval: '30s', seen: '2026-11-25T11:59:50Z' }),
      garbage: '{not json',
      wrongtype: good('wrongtype', { targets: { kernel: { entries: 'many' } } }),
    }, { nofile: good('nofile') });
    const rows = result.output.split('\n');
    expect(rows.find((l) => l.startsWith('broken '))).toMatch(/INVALID RECORD\s+"targets" is missing or not an object$/);
    expect(rows.find((l) => l.startsWith('garbage '))).toMatch(/INVALID RECORD\s+the status record is not JSON$/);
    expect(rows.find((l) => l.startsWith('wrongtype '))).toMatch(/target "kernel": "entries" is not a count$/);
    expect(rows.find((l) => l.startsWith('web1 '))).toMatch(/web1\s+a{12}\s+unknown\s+10s ago\s+-$/);
    expect(rows.find((l) => l.startsWith('nofile '))).toMatch(/INVALID RECORD\s+the ref holds no status\.json$/);
    expect(result.output).toContain('5 hosts, 0 with errors, 4 silent, 4 with an invalid record');
    expect(result.exitCode).toBe(1);
    const json = JSON.parse((await fleetStatus(repo, { json: true, now: NOW })).output) as { hosts: { host: string; problem?: string }[] };
    expect(json.hosts.map((h) => [h.host, h.problem !== undefined])).toEqual([['broken', true], ['garbage', true], ['nofile', true], ['web1', false], ['wrongtype', true]]);
  });

  it('takes the host from the ref: a record claiming another host is refused, no duplicate row or series', async () => {
    const { result, repo } = await fleetOf({ web1: good('web1'), evil: good('web1', { lastError: 'forged' }) });
    const rows = result.output.split('\n').filter((l) => /^(web1|evil) /.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^evil\s+-\s+unknown\s+INVALID RECORD\s+the record claims host "web1", but it is under the ref of "evil"$/);
    expect(rows[1]).toMatch(/^web1 .* -$/);
    const prom = readFileSync(join(repo.stateDir, 'fail2git-fleet.prom'), 'utf8');
    const series = prom.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ')[0]);
    expect(new Set(series).size).toBe(series.length);
    expect(prom).toContain('fail2git_fleet_invalid_record{host="evil"} 1');
    expect(prom).toContain('fail2git_fleet_error{host="web1"} 0');
    // families are grouped: every sample follows its own TYPE line
    let family = '';
    for (const l of prom.split('\n').filter(Boolean)) {
      if (l.startsWith('# TYPE ')) family = l.split(' ')[2]!;
      else if (!l.startsWith('#')) expect(l.startsWith(`${family}{`) || l.startsWith(`${family} `), l).toBe(true);
    }
  });

  it('escapes names and messages: a newline forges no row, an escape sequence reaches no terminal', async () => {
    const { result } = await fleetOf({
      web1: good('web1', { lastError: 'boom\nweb9  ' + 'b'.repeat(12) + '  up to date  0s ago  -\u001b[2J', targets: { 'k\u001b]0;x\u0007': { entries: 1, error: 'e\r\u202e' } } }),
    });
    expect(result.output).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(result.output.split('\n').filter((l) => l.startsWith('web'))).toHaveLength(1);
    expect(result.output).toContain('boom\\nweb9');
    expect(result.output).toContain('k\\x1b]0;x\\x07: e\\r\\u202e');
  });

  it('counts a missing, unparseable or far-future "seen" as silent', async () => {
    const { result } = await fleetOf({
      noseen: JSON.stringify(record('noseen', 'a'.repeat(40))),
      badseen: good('badseen', { seen: 'yesterday' }),
      future: good('future', { seen: '2027-01-01T00:00:00Z' }),
      fresh: good('fresh'),
    });
    const line = (h: string) => result.output.split('\n').find((l) => l.startsWith(`${h} `))!;
    expect(line('noseen')).toMatch(/never \(no readable "seen"\) SILENT/);
    expect(line('badseen')).toMatch(/SILENT/);
    expect(line('future')).toMatch(/SILENT/);
    expect(line('fresh')).not.toMatch(/SILENT/);
    expect(result.output).toContain('4 hosts, 0 with errors, 3 silent');
  });
});

describe('parseFleetRecord', () => {
  it('keeps only the fields it knows, and never lets a target name reach a prototype', () => {
    const r = parseFleetRecord(JSON.stringify({ ...record('web1', 'a'.repeat(40)), extra: 1 }), 'web1');
    expect('record' in r && Object.keys(r.record)).not.toContain('extra');
    const raw = '{"version":1,"host":"web1","interval":"30s","targets":{"__proto__":{"entries":1}}}';
    const p = parseFleetRecord(raw, 'web1');
    expect('record' in p && Object.getPrototypeOf(p.record.targets)).toBe(Object.prototype);
    expect('record' in p && Object.keys(p.record.targets)).toEqual(['__proto__']);
  });
});

describe('a large fleet publishes less often (issue 18)', () => {
  it('shouldPublish: in a 1,000-host fleet progress waits, health does not, the heartbeat is 500 s', () => {
    const last: FleetRecord = { ...record('web1', 'a'.repeat(40)), seen: '2026-11-25T12:00:00Z' };
    const at = (s: number) => new Date(NOW.getTime() + s * 1000);
    // progress alone (a newer applied commit, more entries): at most every (500 s - 45 s) / 2
    const progress = record('web1', 'b'.repeat(40), { reason: 'Applied', targets: { kernel: { entries: 7 } } });
    expect(shouldPublish(progress, last, at(200), 1000)).toBe(false);
    expect(shouldPublish(progress, last, at(228), 1000)).toBe(true);
    // health: an error or another reason goes out at once
    expect(shouldPublish(record('web1', 'b'.repeat(40), { lastError: 'boom', reason: 'TargetsFailed' }), last, at(1), 1000)).toBe(true);
    expect(shouldPublish(record('web1', 'a'.repeat(40), { targets: { kernel: { entries: 6, error: 'x' } } }), last, at(1), 1000)).toBe(true);
    // unchanged: the heartbeat, 1,000 / 2 per second = 500 s
    expect(shouldPublish(record('web1', 'a'.repeat(40)), last, at(499), 1000)).toBe(false);
    expect(shouldPublish(record('web1', 'a'.repeat(40)), last, at(500), 1000)).toBe(true);
    expect(heartbeatMs(30_000, 10)).toBe(45_000);
    expect(heartbeatMs(30_000, 1000)).toBe(500_000);
    expect(heartbeatMs(30_000, 1_000_000)).toBe(30 * 60_000);
  });

  it('a record naming a long heartbeat is silent after two missed heartbeats, not three intervals', () => {
    const rec = { interval: '30s', heartbeat: '8m20s' };
    expect(silence({ ...rec, seen: '2026-11-25T11:50:00Z' }, NOW).silent).toBe(false); // 600 s ago
    expect(silence({ ...rec, seen: '2026-11-25T11:43:19Z' }, NOW).silent).toBe(true); // 1001 s ago
    expect(silence({ interval: '30s', seen: '2026-11-25T11:58:29Z' }, NOW).silent).toBe(true); // 91 s, no heartbeat
    expect(parseFleetRecord(JSON.stringify({ ...record('web1', 'a'.repeat(40)), heartbeat: 'soon', seen: '2026-11-25T12:00:00Z' }), 'web1')).toEqual({ problem: '"heartbeat" is not a duration' });
  });

  it('status --fleet on a real remote: a slow-heartbeat host is fine at 10 minutes, SILENT after two heartbeats, and says so', async () => {
    const remote = makeLedgerRemote();
    const rec = (host: string, seen: string) => JSON.stringify({ ...record(host, remote.head()), heartbeat: '8m20s', seen });
    plantRecord(remote.bare, 'refs/fail2git/status/big1', rec('big1', '2026-11-25T11:50:00Z'));
    plantRecord(remote.bare, 'refs/fail2git/status/big2', rec('big2', '2026-11-25T11:40:00Z'));
    plantRecord(remote.bare, 'refs/fail2git/status/small', JSON.stringify({ ...record('small', remote.head()), seen: '2026-11-25T11:58:00Z' }));
    const { output } = await fleetStatus({ remote: remote.bare, branch: 'main', stateDir: tmpDir('f2g-fleet-beat') }, { now: NOW });
    const line = (h: string) => output.split('\n').find((l) => l.startsWith(`${h} `))!;
    expect(line('big1')).not.toMatch(/SILENT/);
    expect(line('big2')).toMatch(/20m ago SILENT \(>2×8m20s\)/);
    expect(line('small')).toMatch(/2m ago SILENT \(>3×30s\)/);
  });

  it('counts the fleet on the real remote after a publish, and then names a longer heartbeat', async () => {
    const remote = makeLedgerRemote();
    const c0 = remote.head();
    for (let i = 0; i < 3; i++) plantRecord(remote.bare, `refs/fail2git/status/other${i}`, '{}');
    const stateDir = join(tmpDir('f2g-fleet-size'), 'web1');
    const repo = { remote: remote.bare, branch: 'main', stateDir };
    expect(readFleetSize(stateDir)).toBeUndefined();
    expect((await publishHostStatus(repo, record('web1', c0), NOW)).published).toBe(true);
    expect(readFleetSize(stateDir)).toEqual({ hosts: 4, at: '2026-11-25T12:00:00Z' });
    // a fleet of 1,000 (as counted an hour later): the record says so, and progress waits
    writeFileSync(join(stateDir, 'fleet-size.json'), JSON.stringify({ hosts: 1000, at: '2026-11-25T12:00:00Z' }));
    const c1 = remote.commit({ 'bans/notes.txt': 'one\n' }, 'change one');
    expect((await publishHostStatus(repo, record('web1', c1), new Date(NOW.getTime() + 60_000))).published).toBe(false);
    expect((await publishHostStatus(repo, record('web1', c1, { lastError: 'boom' }), new Date(NOW.getTime() + 61_000))).published).toBe(true);
    const pushed = JSON.parse(git(remote.bare, 'cat-file', 'blob', 'refs/fail2git/status/web1:status.json')) as FleetRecord;
    expect(pushed).toMatchObject({ appliedCommit: c1, heartbeat: '8m20s', lastError: 'boom' });
    expect(readFleetSize(stateDir)?.hosts).toBe(1000); // counted less than an hour ago: not again
  });
});
