/**
 * A host's status record for the fleet view, and when to publish it. Pure.
 */
import { parseDuration } from '../lib/duration.js';
import type { RunStatus } from '../status/run-status.js';

/** silent = no record for this many intervals */
export const SILENT_INTERVALS = 3;
/** a record unchanged for this many intervals is published again, as a heartbeat */
export const HEARTBEAT_INTERVALS = 1.5;

/** What one host says about itself. */
export interface FleetRecord {
  version: 1;
  host: string;
  /** the commit this host enforces, and its commit time */
  appliedCommit?: string;
  appliedCommitTime?: string;
  /** the reconciler's last run: reason (UpToDate, Applied, PullFailed, ...) and when it ended */
  reason?: string;
  runAt?: string;
  targets: Record<string, { entries: number; error?: string }>;
  /** one line; absent when the last run had no error */
  lastError?: string;
  /** fail2git version */
  software: string;
  /** the host's reconcile interval, e.g. `30s` (silence is measured in these) */
  interval: string;
  /** when this record was published */
  seen: string;
}

/** A record from the reconciler's run status (controller/status/run-status.ts). Pure. */
export function recordFromRun(status: RunStatus, software: string, interval: string, appliedCommitTime?: string): Omit<FleetRecord, 'seen'> {
  const targets: FleetRecord['targets'] = {};
  for (const [name, t] of Object.entries(status.targets)) targets[name] = t.error ? { entries: t.entries, error: t.error } : { entries: t.entries };
  const record: Omit<FleetRecord, 'seen'> = { version: 1, host: status.host, reason: status.reason, runAt: status.finishedAt, targets, software, interval };
  if (status.commit.applied) record.appliedCommit = status.commit.applied;
  if (appliedCommitTime) record.appliedCommitTime = appliedCommitTime;
  if (!status.ok) record.lastError = status.message;
  return record;
}

/** Pure: does this record need publishing, given the last one published? */
export function shouldPublish(next: Omit<FleetRecord, 'seen'>, last: FleetRecord | undefined, now: Date): boolean {
  if (!last) return true;
  const { seen, runAt: _lastRun, ...lastBody } = last;
  const { runAt: _nextRun, ...nextBody } = next;
  if (JSON.stringify(lastBody) !== JSON.stringify(nextBody)) return true;
  let intervalMs = 30_000;
  try {
    intervalMs = parseDuration(next.interval);
  } catch {
    /* keep the default */
  }
  return now.getTime() - Date.parse(seen) >= intervalMs * HEARTBEAT_INTERVALS;
}

/** One host as the fleet view sees it. */
export interface FleetHost {
  host: string;
  record: FleetRecord;
  /** commits on the tip the host does not enforce; undefined when its commit is unknown here */
  lagCommits?: number;
  /** tip commit time minus applied commit time */
  lagSeconds?: number;
  /** seconds since the record was published */
  seenAgoSeconds: number;
  silent: boolean;
}

export interface FleetView {
  /** a host is silent after this many of its intervals without a record */
  silentAfterIntervals: number;
  tip: string;
  tipTime: string;
  hosts: FleetHost[];
}
