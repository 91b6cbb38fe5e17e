/**
 * The fleet's view of itself. Every reconciler publishes a small status record to the
 * ledger remote under its own ref, `refs/fail2git/status/<host>` (an orphan commit holding
 * `status.json`), never touching the ledger's branch. It publishes at most once per run and
 * only when the record changed or its heartbeat is due, so a quiet fleet costs few pushes.
 * `readFleet` fetches every host's record and the tip, and computes how far behind each host
 * is (commits and time) and which hosts fell silent (no record for 3 of their intervals).
 * Status refs are not signed: a record read back is judged by ./record.ts (parseFleetRecord)
 * and a bad one is shown as a flagged row of its own.
 *
 * Git work happens in a private bare repository under the state dir (`fleet.git`): nothing a
 * reconciler or writer uses is touched.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execRunner, ExecError } from '../lib/exec.js';
import { TransientError, redact, errorMessage } from '../lib/errors.js';
import { formatDuration, formatTime, parseDuration } from '../lib/duration.js';
import { writeFileAtomicSync } from '../lib/files.js';
import { renderFleet } from './table.js';
import { SILENT_INTERVALS, heartbeatMs, parseFleetRecord, shouldPublish, silence, type FleetHost, type FleetRecord, type FleetView } from './record.js';
import { writeMetricsFile } from '../status/metrics.js';
import { FLEET_SIZE_FILE, readFleetSize, type FleetSize } from './size.js';
import { FLEET_METRICS_FILE, renderFleetMetrics } from './metrics.js';

export { renderFleet, readFleetSize, type FleetSize };
export { recordFromRun, shouldPublish, heartbeatMs, SILENT_INTERVALS, HEARTBEAT_INTERVALS, STATUS_PUSHES_PER_SECOND, type FleetHost, type FleetRecord, type FleetView } from './record.js';

export const STATUS_REF_PREFIX = 'refs/fail2git/status/';
const TIP_REF = 'refs/fail2git/fleet-tip';
const RECORD_FILE = 'status.json';

export interface FleetRepo {
  /** the ledger remote */
  remote: string;
  branch: string;
  /** state dir; the private repository lives at `<stateDir>/fleet.git` */
  stateDir: string;
}

function gitIn(dir: string) {
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' };
  return (args: readonly string[], input?: string) =>
    execRunner('git', ['-C', dir, ...args], { env, timeoutMs: 30_000, input: input ?? '' }).then((r) => r.stdout);
}

async function fleetRepo(stateDir: string): Promise<string> {
  const dir = join(stateDir, 'fleet.git');
  if (!existsSync(join(dir, 'HEAD'))) {
    mkdirSync(dir, { recursive: true });
    await execRunner('git', ['init', '-q', '--bare', dir]);
  }
  return dir;
}

export interface PublishResult {
  published: boolean;
  ref: string;
  commit?: string;
}

/**
 * Publishes this host's record when it changed (or its heartbeat is due). Call once per
 * reconcile run, after the run's status is known; a failure is for the caller to log, never
 * to fail the run.
 */
export async function publishHostStatus(repo: FleetRepo, record: Omit<FleetRecord, 'seen'>, now: Date = new Date()): Promise<PublishResult> {
  const ref = STATUS_REF_PREFIX + record.host;
  const lastPath = join(repo.stateDir, 'fleet-published.json');
  const last = readLast(lastPath);
  const fleetSize = readFleetSize(repo.stateDir)?.hosts ?? 0;
  const beat = heartbeatMs(intervalOf(record.interval), fleetSize);
  // Readers judge silence by the heartbeat the record names (only when it is longer than usual).
  const withBeat = beat > intervalOf(record.interval) * 1.5 ? { ...record, heartbeat: formatDuration(beat) } : record;
  if (!shouldPublish(withBeat, last, now, fleetSize)) return { published: false, ref };
  const full: FleetRecord = { ...withBeat, seen: formatTime(now) };
  const dir = await fleetRepo(repo.stateDir);
  const git = gitIn(dir);
  const blob = (await git(['hash-object', '-w', '--stdin'], redact(JSON.stringify(full, null, 2)) + '\n')).trim();
  const tree = (await git(['mktree'], `100644 blob ${blob}\t${RECORD_FILE}\n`)).trim();
  const commit = (await gitWithIdentity(dir, record.host, ['commit-tree', tree, '-m', `status ${record.host}`])).trim();
  try {
    // Only this host writes this ref, so a forced update is safe and keeps no history.
    await git(['push', '-q', '--force', '--', repo.remote, `${commit}:${ref}`]);
  } catch (err) {
    throw new TransientError('E_FLEET_PUBLISH', `cannot publish status to ${redact(repo.remote)} ${ref}: ${errorMessage(err)}`, { cause: err });
  }
  writeFileAtomicSync(lastPath, redact(JSON.stringify(full)) + '\n', { mkdir: true });
  await refreshFleetSize(repo, now).catch(() => undefined);
  return { published: true, ref, commit };
}

/** How often a host counts the fleet's status refs (one ls-remote that lists them all). */
export const FLEET_SIZE_MAX_AGE_MS = 60 * 60_000;

/** Counts the remote's status refs when the last count is older than FLEET_SIZE_MAX_AGE_MS. */
export async function refreshFleetSize(repo: FleetRepo, now: Date = new Date()): Promise<FleetSize | undefined> {
  const known = readFleetSize(repo.stateDir);
  if (known && now.getTime() - Date.parse(known.at) < FLEET_SIZE_MAX_AGE_MS && now.getTime() >= Date.parse(known.at)) return known;
  const dir = await fleetRepo(repo.stateDir);
  const out = await gitIn(dir)(['ls-remote', '--refs', '--', repo.remote, `${STATUS_REF_PREFIX}*`]);
  const hosts = out.split('\n').filter((l) => l.includes(`\t${STATUS_REF_PREFIX}`)).length;
  const size: FleetSize = { hosts, at: formatTime(now) };
  writeFileAtomicSync(join(repo.stateDir, FLEET_SIZE_FILE), JSON.stringify(size) + '\n', { mkdir: true });
  return size;
}

function intervalOf(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    return 30_000;
  }
}

function gitWithIdentity(dir: string, host: string, args: string[]): Promise<string> {
  const who = { GIT_AUTHOR_NAME: host, GIT_AUTHOR_EMAIL: `fail2git@${host}`, GIT_COMMITTER_NAME: host, GIT_COMMITTER_EMAIL: `fail2git@${host}` };
  return execRunner('git', ['-C', dir, ...args], { env: { ...process.env, ...who }, input: '' }).then((r) => r.stdout);
}

function readLast(path: string): FleetRecord | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as FleetRecord;
  } catch {
    return undefined;
  }
}

/** Fetches every host's record and the tip from the remote and computes lag and silence. */
export async function readFleet(repo: FleetRepo, now: Date = new Date()): Promise<FleetView> {
  const dir = await fleetRepo(repo.stateDir);
  const git = gitIn(dir);
  try {
    await git(['fetch', '-q', '--no-tags', '--prune', '--', repo.remote, `+${STATUS_REF_PREFIX}*:${STATUS_REF_PREFIX}*`, `+refs/heads/${repo.branch}:${TIP_REF}`]);
  } catch (err) {
    throw new TransientError('E_FLEET_FETCH', `cannot fetch fleet status from ${redact(repo.remote)}: ${errorMessage(err)}`, { cause: err });
  }
  const [tip = '', tipTime = '0'] = (await git(['log', '-1', '--format=%H %ct', TIP_REF])).trim().split(' ');
  const refs = (await git(['for-each-ref', '--format=%(refname)', STATUS_REF_PREFIX])).split('\n').filter(Boolean);
  const hosts: FleetHost[] = [];
  for (const ref of refs) {
    // The host is the ref's name: a record can only speak for the ref it is stored under.
    const name = ref.slice(STATUS_REF_PREFIX.length);
    const read = await readRecord(git, ref, name);
    if ('problem' in read) hosts.push({ host: name, problem: read.problem, silent: true });
    else hosts.push(await describeHost(git, name, read.record, tip, Number(tipTime), now));
  }
  hosts.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  return { silentAfterIntervals: SILENT_INTERVALS, tip, tipTime: formatTime(new Date(Number(tipTime) * 1000)), hosts };
}

/** Reads and judges the record under `ref` (a status ref is not signed: anyone who can push writes one). */
async function readRecord(git: ReturnType<typeof gitIn>, ref: string, host: string): Promise<{ record: FleetRecord } | { problem: string }> {
  let raw: string;
  try {
    raw = await git(['cat-file', 'blob', `${ref}:${RECORD_FILE}`]);
  } catch {
    return { problem: `the ref holds no ${RECORD_FILE}` };
  }
  return parseFleetRecord(raw, host);
}

async function describeHost(git: ReturnType<typeof gitIn>, name: string, record: FleetRecord, tip: string, tipTime: number, now: Date): Promise<FleetHost> {
  const host: FleetHost = { host: name, record, ...silence(record, now) };
  const applied = record.appliedCommit;
  if (!applied || !/^[0-9a-f]{40}$/.test(applied)) return host;
  if (applied === tip) return { ...host, lagCommits: 0, lagSeconds: 0 };
  try {
    host.lagCommits = Number((await git(['rev-list', '--count', `${applied}..${tip}`])).trim());
    const appliedTime = Number((await git(['log', '-1', '--format=%ct', applied])).trim());
    host.lagSeconds = Math.max(0, tipTime - appliedTime);
  } catch (err) {
    if (!(err instanceof ExecError)) throw err; // commit unknown here: lag stays unknown
  }
  return host;
}

/**
 * `fail2git status --fleet [--json]`: reads the fleet, writes the fleet metrics textfile
 * (when a metrics file is configured) and returns what to print. Exit 1 when a host is
 * silent or reports an error, so a monitoring check can run it as is.
 */
export async function fleetStatus(
  repo: FleetRepo & { metricsFile?: string },
  opts: { json?: boolean; now?: Date } = {},
): Promise<{ output: string; exitCode: 0 | 1; view: FleetView }> {
  const view = await readFleet(repo, opts.now ?? new Date());
  if (repo.metricsFile) writeMetricsFile(repo.metricsFile, FLEET_METRICS_FILE, renderFleetMetrics(view));
  const output = opts.json ? JSON.stringify(view, null, 2) : renderFleet(view);
  const bad = view.hosts.some((h) => h.silent || h.problem !== undefined || h.record?.lastError);
  return { output, exitCode: bad ? 1 : 0, view };
}

/**
 * Whether commit `a` is `b` or an ancestor of it, in the fleet's private repository (which
 * holds the tip and so every host's applied commit that is on the branch). Rejects when either
 * commit is unknown there.
 */
export function ancestryIn(stateDir: string): (a: string, b: string) => Promise<boolean> {
  const dir = join(stateDir, 'fleet.git');
  return async (a, b) => {
    if (a === b) return true;
    try {
      await execRunner('git', ['-C', dir, 'merge-base', '--is-ancestor', a, b], { timeoutMs: 30_000 });
      return true;
    } catch (err) {
      if (err instanceof ExecError && err.exitCode === 1) return false;
      throw err;
    }
  };
}
