/**
 * A host's status record for the fleet view, when to publish it, and how a record read back
 * from the remote is judged. Pure.
 *
 * Status refs are not signed: anyone who can push to the ledger remote can write one. So a
 * record read back is untrusted input: the host is the ref's name (a record naming another
 * host is refused), its shape is checked field by field (a bad one becomes a flagged row of
 * its own, never a crash), and a missing or unreadable `seen` counts as silent.
 */
import { parseDuration, parseTime } from '../lib/duration.js';
import type { RunStatus } from '../status/run-status.js';

/** silent = no record for this many intervals */
export const SILENT_INTERVALS = 3;
/** a record unchanged for this many intervals is published again, as a heartbeat */
export const HEARTBEAT_INTERVALS = 1.5;
/**
 * Status pushes per second the whole fleet may cost the forge: a host's heartbeat is at least
 * fleetSize / this (seconds), and a record whose only news is progress (a newer applied commit,
 * other entry counts) waits half that. So 1,000 hosts heartbeat every 500 s, not every 45 s.
 */
export const STATUS_PUSHES_PER_SECOND = 2;
/** The longest heartbeat, whatever the fleet's size. */
export const MAX_HEARTBEAT_MS = 30 * 60_000;

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
  /** how often this host publishes an unchanged record, e.g. `500s` (absent: 1.5 intervals) */
  heartbeat?: string;
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

/**
 * How often an unchanged record is published again: 1.5 intervals, or longer in a large fleet
 * (fleetSize / STATUS_PUSHES_PER_SECOND seconds, at most MAX_HEARTBEAT_MS). Pure.
 */
export function heartbeatMs(intervalMs: number, fleetSize = 0): number {
  const byFleet = Math.min(MAX_HEARTBEAT_MS, (fleetSize / STATUS_PUSHES_PER_SECOND) * 1000);
  return Math.round(Math.max(intervalMs * HEARTBEAT_INTERVALS, byFleet));
}

/** The record without what only says "still making progress": used to tell news from progress. */
function health(r: Omit<FleetRecord, 'seen'>): unknown {
  const { runAt: _r, appliedCommit: _a, appliedCommitTime: _t, heartbeat: _h, targets, reason, ...rest } = r as Omit<FleetRecord, 'seen'> & { seen?: string };
  delete (rest as { seen?: string }).seen;
  const errors = Object.fromEntries(Object.entries(targets).map(([k, t]) => [k, t.error ?? null]));
  return { ...rest, errors, reason: reason === 'Applied' ? 'UpToDate' : reason };
}

/**
 * Pure: does this record need publishing, given the last one published? A change of health
 * (an error, a reason other than Applied/UpToDate, a target, the interval) is published at
 * once; progress alone (a newer applied commit, entry counts) at most every half heartbeat of
 * the fleet's size, and at most once an interval; an unchanged record every heartbeat.
 */
export function shouldPublish(next: Omit<FleetRecord, 'seen'>, last: FleetRecord | undefined, now: Date, fleetSize = 0): boolean {
  if (!last) return true;
  let intervalMs = 30_000;
  try {
    intervalMs = parseDuration(next.interval);
  } catch {
    /* keep the default */
  }
  const ago = now.getTime() - Date.parse(last.seen);
  if (!(ago >= 0)) return true;
  if (JSON.stringify(health(last)) !== JSON.stringify(health(next))) return true;
  const { seen: _s, runAt: _lastRun, heartbeat: _lh, ...lastBody } = last;
  const { runAt: _nextRun, heartbeat: _nh, ...nextBody } = next;
  const beat = heartbeatMs(intervalMs, fleetSize);
  // Progress waits at least an interval: with a site mirror's wake-up a host applies every ban
  // of a stream as it comes, and must not push a record for each.
  if (JSON.stringify(lastBody) !== JSON.stringify(nextBody)) return ago >= Math.max(intervalMs, (beat - intervalMs * HEARTBEAT_INTERVALS) / 2);
  return ago >= beat;
}

/** One host as the fleet view sees it. */
export interface FleetHost {
  /** the host's name: its status ref's name, `refs/fail2git/status/<host>` */
  host: string;
  /** the record, when it is well-formed and names the ref's host */
  record?: FleetRecord;
  /** why the record under this ref was refused (then `record` is absent and the row is flagged) */
  problem?: string;
  /** commits on the tip the host does not enforce; undefined when its commit is unknown here */
  lagCommits?: number;
  /** tip commit time minus applied commit time */
  lagSeconds?: number;
  /** seconds since the record was published; undefined when `seen` is missing or unreadable */
  seenAgoSeconds?: number;
  /** no usable record for SILENT_INTERVALS of its intervals (or no readable `seen` at all) */
  silent: boolean;
}

/** The default interval a record is judged by when it names none it could publish. */
export const DEFAULT_INTERVAL_MS = 30_000;

const HEX_COMMIT = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;
const MAX_TEXT = 4096;

type Check = (v: unknown) => string | undefined;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const text: Check = (v) => (typeof v !== 'string' ? 'not a string' : v.length > MAX_TEXT ? 'too long' : undefined);
const time: Check = (v) => {
  if (typeof v !== 'string') return 'not a string';
  try {
    parseTime(v);
    return undefined;
  } catch {
    return 'not an RFC 3339 time';
  }
};

const OPTIONAL: Record<string, Check> = {
  appliedCommit: (v) => (typeof v === 'string' && HEX_COMMIT.test(v) ? undefined : 'not a commit id'),
  appliedCommitTime: time,
  reason: text,
  runAt: time,
  lastError: text,
  software: text,
  heartbeat: (v) => {
    if (typeof v !== 'string') return 'not a string';
    try {
      return parseDuration(v) > 0 ? undefined : 'not a positive duration';
    } catch {
      return 'not a duration';
    }
  },
  // `seen` is judged by silence, not refused: a record without a readable one is silent.
  seen: () => undefined,
};

function targetsProblem(v: unknown): string | undefined {
  if (!isObj(v)) return '"targets" is missing or not an object';
  for (const [name, t] of Object.entries(v)) {
    const where = `target ${JSON.stringify(name.slice(0, 64))}`;
    if (name.length > MAX_TEXT) return 'a target name is too long';
    if (!isObj(t)) return `${where} is not a JSON object`;
    if (typeof t.entries !== 'number' || !Number.isSafeInteger(t.entries) || t.entries < 0) return `${where}: "entries" is not a count`;
    if (t.error !== undefined && text(t.error)) return `${where}: "error" is ${text(t.error)}`;
  }
  return undefined;
}

/**
 * Judges a record read from `refs/fail2git/status/<refHost>`: the record, or one sentence
 * saying why it is refused. Pure.
 */
export function parseFleetRecord(raw: string, refHost: string): { record: FleetRecord } | { problem: string } {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { problem: 'the status record is not JSON' };
  }
  if (!isObj(v)) return { problem: 'the status record is not a JSON object' };
  if (v.version === undefined) return { problem: 'the record has no "version" (this fail2git reads version 1)' };
  if (v.version !== 1) return { problem: `unknown record version ${JSON.stringify(v.version).slice(0, 32)} (this fail2git reads version 1)` };
  if (typeof v.host !== 'string') return { problem: 'the record names no host' };
  if (v.host !== refHost) return { problem: `the record claims host ${JSON.stringify(v.host.slice(0, 64))}, but it is under the ref of ${JSON.stringify(refHost)}` };
  const badTargets = targetsProblem(v.targets);
  if (badTargets) return { problem: badTargets };
  if (typeof v.interval !== 'string') return { problem: '"interval" is missing or not a string' };
  try {
    if (!(parseDuration(v.interval) > 0)) return { problem: `"interval" ${JSON.stringify(v.interval.slice(0, 32))} is not a positive duration` };
  } catch {
    return { problem: `"interval" ${JSON.stringify(v.interval.slice(0, 32))} is not a duration` };
  }
  for (const [key, check] of Object.entries(OPTIONAL)) {
    if (v[key] === undefined) continue;
    const why = check(v[key]);
    if (why) return { problem: `"${key}" is ${why}` };
  }
  // Only the fields this version knows are kept (a newer writer may add some).
  // fromEntries defines properties: a target named "__proto__" stays a plain key.
  const targets: FleetRecord['targets'] = Object.fromEntries(
    Object.entries(v.targets as Record<string, { entries: number; error?: string }>).map(([name, t]) => [
      name,
      t.error === undefined ? { entries: t.entries } : { entries: t.entries, error: t.error },
    ]),
  );
  const record: Record<string, unknown> = { version: 1, host: v.host, targets, interval: v.interval, software: '' };
  for (const key of Object.keys(OPTIONAL)) if (v[key] !== undefined) record[key] = v[key];
  return { record: record as unknown as FleetRecord };
}

/**
 * How long ago a record was published, and whether its host is silent: no readable `seen`,
 * or one older than SILENT_INTERVALS of its interval. A `seen` later than now by more than one
 * interval is not believed either (a clock far ahead, or a record written to look alive). Pure.
 */
/** The silence threshold of a record: 3 intervals, or 2 heartbeats when it names a longer one. */
function silentAfterMs(record: Pick<FleetRecord, 'interval' | 'heartbeat'>): { ms: number; intervalMs: number; byHeartbeat: boolean } {
  let intervalMs = DEFAULT_INTERVAL_MS;
  try {
    intervalMs = parseDuration(record.interval);
  } catch {
    /* a record with a strange interval is judged by the default */
  }
  let beatMs = 0;
  try {
    if (typeof record.heartbeat === 'string') beatMs = Math.min(MAX_HEARTBEAT_MS, parseDuration(record.heartbeat));
  } catch {
    /* judged by its interval alone */
  }
  // A host that heartbeats slowly (a large fleet) is silent after two missed heartbeats.
  const byHeartbeat = 2 * beatMs > SILENT_INTERVALS * intervalMs;
  return { ms: byHeartbeat ? 2 * beatMs : SILENT_INTERVALS * intervalMs, intervalMs, byHeartbeat };
}

/** How the fleet table names a record's silence threshold: `3×30s`, or `2×8m20s` (heartbeats). Pure. */
export function silentAfterLabel(record: Pick<FleetRecord, 'interval' | 'heartbeat'>): string {
  return silentAfterMs(record).byHeartbeat ? `2×${record.heartbeat}` : `${SILENT_INTERVALS}×${record.interval}`;
}

export function silence(record: Pick<FleetRecord, 'interval' | 'heartbeat'> & { seen?: unknown }, now: Date): { seenAgoSeconds?: number; silent: boolean } {
  const { ms: silentMs, intervalMs } = silentAfterMs(record);
  let seenMs: number;
  try {
    seenMs = typeof record.seen === 'string' ? parseTime(record.seen).getTime() : NaN;
  } catch {
    seenMs = NaN;
  }
  if (!Number.isFinite(seenMs)) return { silent: true };
  const agoMs = now.getTime() - seenMs;
  const seenAgoSeconds = Math.max(0, Math.round(agoMs / 1000));
  return { seenAgoSeconds, silent: agoMs > silentMs || agoMs < -intervalMs };
}

export interface FleetView {
  /** a host is silent after this many of its intervals without a record */
  silentAfterIntervals: number;
  tip: string;
  tipTime: string;
  hosts: FleetHost[];
}
