import { afterAll, describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readStatus, renderMetrics, writeStatus, type RunStatus } from '../../../controller/status/run-status.js';
import { writeFileAtomicSync } from '../../../controller/lib/files.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

function sample(over: Partial<RunStatus> = {}): RunStatus {
  return {
    version: 1, host: 'web1', startedAt: '2026-11-25T10:00:00.000Z', finishedAt: '2026-11-25T10:00:01.250Z', durationSeconds: 1.25,
    reason: 'Applied', message: 'applied abc to 1 target(s)', ok: true, dryRun: false,
    remote: { url: '/srv/ledger.git', reachable: true, tip: 'abc' },
    commit: { applied: 'abc', tip: 'abc', tipProblems: [] },
    desired: { entries: 42, skipped: { expired: 3 } },
    targets: {
      kernel: { driver: 'ipset', reason: 'Applied', entries: 42, added: 2, removed: 1, heldRemovals: 0, folded: 3, leftOut: 7, capacity: 42, errorsTotal: 0, driftCorrectedTotal: 5, driftLast: { readded: 1, removed: 0 }, lastSuccessAt: '2026-11-25T10:00:01.250Z' },
      'alias"x': { driver: 'file', reason: 'ApplyFailed', entries: 0, added: 0, removed: 0, heldRemovals: 0, error: 'disk full', errorsTotal: 3, driftCorrectedTotal: 0, driftLast: { readded: 0, removed: 0 } },
    },
    lastSuccessAt: '2026-11-25T10:00:01.250Z',
    runsTotal: 7,
    ...over,
  };
}

describe('renderMetrics', () => {
  const text = renderMetrics(sample());
  it('exposes desired entries, per-target entries and errors, last success and duration', () => {
    expect(text).toContain('fail2git_desired_entries 42\n');
    expect(text).toContain('fail2git_target_entries{target="kernel",driver="ipset"} 42\n');
    expect(text).toContain('fail2git_target_errors_total{target="kernel",driver="ipset"} 0\n');
    expect(text).toContain('fail2git_target_drift_corrected_total{target="kernel",driver="ipset"} 5\n');
    expect(text).toContain(`fail2git_last_success_timestamp_seconds ${Math.floor(Date.parse('2026-11-25T10:00:01.250Z') / 1000)}\n`);
    expect(text).toContain('fail2git_run_duration_seconds 1.25\n');
    expect(text).toContain('fail2git_runs_total 7\n');
  });
  it('exposes per target how many desired entries were folded and how many a full target left out', () => {
    expect(text).toContain('fail2git_target_folded_entries{target="kernel",driver="ipset"} 3\n');
    expect(text).toContain('fail2git_target_left_out_entries{target="kernel",driver="ipset"} 7\n');
    // absent in an older status: 0
    expect(text).toContain('fail2git_target_left_out_entries{target="alias\\"x",driver="file"} 0\n');
  });

  it('escapes label values', () => {
    expect(text).toContain('fail2git_target_up{target="alias\\"x",driver="file"} 0\n');
  });
  it('is valid exposition format: HELP and TYPE before every metric family, one sample per line', () => {
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) fail2git_\w+ .+|fail2git_\w+(\{[^}]*\})? -?[0-9.e+]+)$/);
    }
    const families = text.split('\n').filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2]);
    expect(new Set(families).size).toBe(families.length);
  });
  it('a run that never succeeded reports 0 as last success', () => {
    const { lastSuccessAt: _omit, ...rest } = sample();
    expect(renderMetrics(rest as RunStatus)).toContain('fail2git_last_success_timestamp_seconds 0\n');
  });
});

describe('status files', () => {
  it('round-trips status.json', () => {
    const dir = tmpDir('f2g-status');
    writeStatus(dir, sample());
    expect(readStatus(dir)).toEqual(sample());
  });
  it('a missing or torn status.json reads as no status', () => {
    const dir = tmpDir('f2g-status');
    expect(readStatus(dir)).toBeUndefined();
    writeFileAtomicSync(join(dir, 'status.json'), '{"version":1,');
    expect(readStatus(dir)).toBeUndefined();
  });
});
