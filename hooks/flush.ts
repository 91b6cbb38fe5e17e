/**
 * The flusher: turns every pending operation in the spool into one commit and pushes it.
 *
 * One at a time per host (controller/lib/lock.ts). Each round lists the spool, runs the writer
 * protocol (controller/git/commit.ts) with the operations re-applied to the ledger at the
 * remote tip, and deletes the operations only after the push succeeded. Operations whose id
 * is already in the remote history (a flusher killed between push and delete) are skipped,
 * so nothing is applied twice. After releasing the lock it looks once more: an operation
 * spooled while the lock was held is never left behind.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostConfig } from '../controller/config/host-config.js';
import { spoolPath } from '../controller/config/host-config.js';
import { errorMessage, InvalidLedgerError } from '../controller/lib/errors.js';
import { commitAndPush, maintainWriterRepo, recentCommits, type Snapshot, type WriterRepo } from '../controller/git/commit.js';
import { LEDGER_FILES, formatProblem } from '../controller/ledger/types.js';
import type { Runner } from '../controller/lib/exec.js';
import { summarize, writeGuard } from './guard-cache.js';
import { flushLockPath, tryLock, waitLock, type Lock } from '../controller/lib/lock.js';
import { applyOperations, isChange, type ApplyContext, type OpResult, type Operation } from './operations.js';
import type { BanEntry } from '../controller/ledger/types.js';
import { commitMessage } from './message.js';
import { deliveredIds, parseTrailers } from '../controller/git/trailers.js';
import { FLUSH_STATUS_FILE, spoolReadError, listOperations, opCreatedAt, recordRefused, removeOperations, writeSpoolMetrics } from './spool.js';
import { readGuard } from './guard-cache.js';
import { readRecords } from './record.js';
import { writeFileAtomicSync } from '../controller/lib/files.js';

export interface FlushOptions {
  /** wait for a running flusher (people's commands) instead of leaving the work to it */
  wait?: boolean;
  /** pause before another round when operations arrived during one (batches storms); default 500 ms */
  batchDelayMs?: number;
  /** the pause doubles with every further busy round, up to this (a long storm → few commits); default 8000 ms */
  maxBatchDelayMs?: number;
  /** a pause ends early once nothing new arrived in the spool for this long (the storm is over); default 1000 ms */
  quietMs?: number;
  /** pause before the first round, holding the lock, so hooks firing together share a commit; default 0 */
  gatherMs?: number;
  /** fetch and refresh the guard cache even when nothing is pending */
  refresh?: boolean;
  now?: () => Date;
  run?: Runner;
  log?: (line: string) => void;
}

export interface FlushResult {
  /** another flusher holds the lock; it delivers what is pending */
  busy: boolean;
  /** operations delivered (pushed, or no-ops that needed no commit) */
  delivered: number;
  commits: string[];
  /** operation id → the commit that delivered it */
  commitOf: Record<string, string>;
  results: OpResult[];
  refused: OpResult[];
  /** hook records refused before they became operations (bad value, special or allowlisted address, malformed): file → why */
  rejected: { file: string; why: string }[];
  /** left in the spool */
  pending: number;
  /** the pauses between rounds, ms as chosen (a lone ban: none; a storm: growing) */
  pauses: number[];
}

const PATHS = [LEDGER_FILES.bans, LEDGER_FILES.allow, LEDGER_FILES.policy];

function lockPath(cfg: Pick<HostConfig, 'stateDir'>): string {
  return flushLockPath(cfg.stateDir);
}

export function writerRepo(cfg: HostConfig, run?: Runner): WriterRepo {
  return { dir: join(cfg.stateDir, 'writer.git'), remote: cfg.remote, branch: cfg.branch, ...(run ? { run } : {}) };
}

export function authorOf(cfg: Pick<HostConfig, 'host'>): { name: string; email: string } {
  return { name: cfg.host, email: `fail2git@${cfg.host}` };
}

/**
 * The last ban list and allowlist + policy a flusher parsed, by their exact text: a storm's
 * attempts mostly find allow.yaml and policy.yaml unchanged (the YAML parser is the dearest
 * part of an attempt), and a host that won the last push finds its own ban list at the tip
 * (its text was parsed when applyChecked checked it). Never mutated (applyOperations copies).
 */
const parsed: {
  bans?: { text: string; list: ReturnType<typeof import('../controller/ledger/banlist.js').parseBanList> };
  rest?: { allow: string | null; policy: string | null; result: ReturnType<typeof import('../controller/ledger/load.js').parseLedgerFiles> };
} = {};

/** Parses the ledger at a snapshot; an invalid ban list or policy cannot be written onto. */
async function ledgerAt(snap: Snapshot) {
  const { parseBanList, formatBanList } = await import('../controller/ledger/banlist.js');
  const { parseLedgerFiles } = await import('../controller/ledger/load.js');
  const text = snap.files[LEDGER_FILES.bans] ?? null;
  const parse: typeof parseBanList = (t, file) => {
    if (parsed.bans?.text === t) return parsed.bans.list;
    const list = parseBanList(t, file);
    if (t.length >= 1024) parsed.bans = { text: t, list }; // not applyChecked's one-entry checks
    return list;
  };
  const list = text === null ? { bans: [], header: '', problems: [] } : parse(text, LEDGER_FILES.bans);
  const allow = snap.files[LEDGER_FILES.allow] ?? null;
  const policy = snap.files[LEDGER_FILES.policy] ?? null;
  if (parsed.rest?.allow !== allow || parsed.rest.policy !== policy) {
    parsed.rest = { allow, policy, result: parseLedgerFiles({ ...snap.files, [LEDGER_FILES.bans]: null, [LEDGER_FILES.targets]: null }, { dir: '.' }) };
  }
  const cached = parsed.rest.result;
  const rest = { ...cached, ledger: { ...cached.ledger, source: { dir: '.', rev: snap.tip } } };
  const problems = [...list.problems, ...rest.problems];
  if (problems.length > 0) {
    throw new InvalidLedgerError(`ledger at ${snap.tip.slice(0, 12)} is invalid (${formatProblem(problems[0]!)}); operations wait until it is fixed`, problems);
  }
  return { list, ledger: rest.ledger, format: formatBanList, parse };
}

type Ledger = Awaited<ReturnType<typeof ledgerAt>>;

/** The writer-role rule of controller/ledger/roles.ts, for the entries one flush writes. */
async function writerRoleCheck(policy: Ledger['ledger']['policy'], now: Date) {
  const { writerEntryProblem } = await import('../controller/ledger/roles.js');
  return (entry: BanEntry, old: BanEntry | undefined) => writerEntryProblem(entry, old, policy, now);
}

/**
 * Applies the operations and checks the result the way `validate` does before anything is
 * pushed: an operation whose entry `validate` would reject (a count past the schema's
 * maximum, a reason too long, …) is refused alone with the problem as its reason, and the
 * rest are applied again without it. If the whole file still fails validation (which no
 * single operation explains), nothing is pushed: the writer never pushes a ledger its own
 * validate rejects.
 */
export function applyChecked(
  at: Pick<Ledger, 'format' | 'parse'> & { bans: readonly BanEntry[]; header: string },
  ops: readonly Operation[],
  ctx: ApplyContext,
  /** this host enforces signer roles (requireSignedCommits + adminSigners): refuse what its own writer key may not write */
  writerRole?: (entry: BanEntry, old: BanEntry | undefined) => string | undefined,
): { bans: BanEntry[]; results: OpResult[]; text: string } {
  const refused = new Map<string, string>();
  const before = new Map(at.bans.map((b) => [b.cidr, b] as const));
  for (let pass = 0; ; pass++) {
    const todo = ops.filter((o) => !refused.has(o.id));
    const { bans, results } = applyOperations(at.bans, todo, ctx);
    const byKey = new Map(bans.map((b) => [b.cidr, b] as const));
    let found = false;
    for (const r of results) {
      if (!isChange(r) || r.outcome === 'removed') continue;
      const entry = byKey.get(r.cidr);
      const problem = entry && at.parse(at.format([entry])).problems[0];
      const outside = !problem && entry && writerRole?.(entry, before.get(r.cidr));
      if (problem) {
        refused.set(r.op.id, `would make the ledger invalid: ${problem.message}`);
        found = true;
      } else if (outside) {
        refused.set(r.op.id, `${outside}, which this host's writer key may not write (hosts with adminSigners would hold the commit); make it by a pull request merged with an admin key`);
        found = true;
      }
    }
    if (found && pass < ops.length) continue;
    const text = at.format(bans, at.header);
    const problems = at.parse(text).problems;
    if (problems.length > 0) {
      throw new InvalidLedgerError(`not pushing: the ledger after these operations would be invalid (${formatProblem(problems[0]!)}); operations wait`, problems);
    }
    const refusedResults: OpResult[] = ops.filter((o) => refused.has(o.id)).map((o) => ({ op: o, cidr: o.cidr, outcome: 'refused', detail: refused.get(o.id)! }));
    const order = new Map(ops.map((o, i) => [o.id, i] as const));
    const all = [...results, ...refusedResults].sort((a, b) => order.get(a.op.id)! - order.get(b.op.id)!);
    return { bans, results: all, text };
  }
}

interface Round {
  results: OpResult[];
  skipped: string[];
}

/** Both lists, each operation once, oldest first. */
function mergeOps(a: readonly Operation[], b: readonly Operation[]): Operation[] {
  const byId = new Map(a.map((o) => [o.id, o] as const));
  for (const o of b) if (!byId.has(o.id)) byId.set(o.id, o);
  return [...byId.values()].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/**
 * One commit of `first`'s operations. An attempt that lost the race to another writer is
 * retried with whatever `relist` finds in the spool by then folded in: the retry costs the
 * same fetch and push either way, and the records that arrived meanwhile need no round of
 * their own. Returns the operations of the commit that was pushed.
 */
async function flushRound(cfg: HostConfig, first: Operation[], opts: FlushOptions, relist?: () => Operation[]): Promise<{ commit: string | null; round: Round; ops: Operation[] }> {
  const repo = writerRepo(cfg, opts.run);
  const author = authorOf(cfg);
  let ops = first;
  let attempts = 0;
  let round: Round = { results: [], skipped: [] };
  const { commit } = await commitAndPush(repo, {
    author,
    signingKey: cfg.signingKey,
    paths: PATHS,
    // gc --auto once the rounds are done (runRounds), not after every fetch of a storm
    autoMaintenance: false,
    async mutate(snap) {
      if (++attempts > 1 && relist && ops.length > 0) ops = mergeOps(ops, relist());
      const { list, ledger, format, parse } = await ledgerAt(snap);
      writeGuard(cfg.stateDir, summarize(ledger, snap.tip));
      if (ops.length === 0) return null;
      const oldest = Math.min(...ops.map((o) => opCreatedAt(o.id)));
      // One look at the recent history for both: this host's commits since the oldest op was
      // spooled (clock slack: the commit that delivered an op was made after it), and every
      // writer's unbans since an hour before the oldest ban's own time.
      const banTimes = banTimesOf(ops);
      const log = await recentCommits(repo, snap.tip, new Date(Math.min(oldest - 3_600_000, ...banTimes.map((t) => t - UNBAN_LOOKBACK_MS))));
      const history = log.map(historyOf);
      const seen = new Set(history.flatMap((h, i) => (log[i]!.email === author.email ? h.ids : [])));
      const todo = ops.filter((o) => !seen.has(o.id));
      const now = opts.now?.() ?? new Date();
      const unbannedAt = banTimesOf(todo).length > 0 ? unbansIn(log, now) : undefined;
      const writerRole = cfg.requireSignedCommits && cfg.adminSigners ? await writerRoleCheck(ledger.policy, now) : undefined;
      const { results, text } = applyChecked({ format, parse, bans: list.bans, header: list.header }, todo, { policy: ledger.policy, allow: ledger.allow, now, ...(unbannedAt && { unbannedAt }) }, writerRole);
      round = { results, skipped: ops.filter((o) => seen.has(o.id)).map((o) => o.id) };
      const message = commitMessage(cfg.host, results);
      return message === null ? null : { files: { [LEDGER_FILES.bans]: text }, message };
    },
  });
  return { commit, round, ops };
}

/**
 * Every pending operation, oldest first: the JSON operations (`fail2git ban`, the node hook)
 * and the records the shell action line wrote (hooks/record.ts), checked as the hook checks.
 */
export function pendingOperations(cfg: Pick<HostConfig, 'stateDir' | 'host'>, onRejected?: (file: string, why: string) => void): Operation[] {
  const spool = spoolPath(cfg);
  const records = readRecords(spool, { host: cfg.host, guard: () => readGuard(cfg.stateDir), ...(onRejected ? { onRefused: onRejected } : {}) });
  const ops = listOperations(spool);
  if (records.length === 0) return ops;
  return [...ops, ...records].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function lister(cfg: HostConfig, opts: FlushOptions, out: FlushResult): () => Operation[] {
  return () => pendingOperations(cfg, (file, why) => {
    out.rejected.push({ file, why });
    opts.log?.(`refused hook record ${file}: ${why}`);
  });
}

/** How far before a ban's own time its address's unbans are looked for (commit clocks differ). */
const UNBAN_LOOKBACK_MS = 3_600_000;
/** An unban trailer dated further ahead of this host's clock is not believed. */
const MAX_UNBAN_SKEW_MS = 300_000;

/**
 * The own times of the pending bans and prolongs: each is applied in time order against the
 * unbans (by any writer) recorded since an hour before the oldest of them (hooks/operations.ts).
 */
function banTimesOf(ops: readonly Operation[]): number[] {
  return ops.filter((o) => o.op !== 'unban').map((o) => Date.parse(o.at)).filter(Number.isFinite);
}

/** What a flusher reads from one commit's message: the operation ids it delivered and the unbans it records. */
interface CommitHistory {
  ids: string[];
  unbans: { cidr: string; at: string }[];
}

/** The unbans a commit message records (any writer's), as its trailers say. */
function unbanTrailers(body: string): CommitHistory['unbans'] {
  const out: CommitHistory['unbans'] = [];
  for (const t of parseTrailers(body)) {
    const { cidr, at } = t.fields;
    if (t.op === 'unban' && cidr && at) out.push({ cidr, at });
  }
  return out;
}

/**
 * Each commit's message is read once per process: a storm's every attempt looks at the same
 * last hour of history (thousands of trailers), and a commit never changes. Bounded.
 */
const historyMemo = new Map<string, CommitHistory>();
const HISTORY_MEMO_MAX = 20_000;

function historyOf(c: { id: string; body: string }): CommitHistory {
  let h = historyMemo.get(c.id);
  if (!h) {
    h = { ids: [...deliveredIds(c.body)], unbans: unbanTrailers(c.body) };
    if (historyMemo.size >= HISTORY_MEMO_MAX) historyMemo.clear();
    historyMemo.set(c.id, h);
  }
  return h;
}

/**
 * The latest unban time per key that these commits' trailers record (any writer's), unbans
 * dated far ahead of `now` not believed. Each message is read once per process (historyOf).
 */
export function unbansIn(commits: readonly { id: string; body: string }[], now: Date): Map<string, string> {
  const out = new Map<string, string>();
  const limit = now.getTime() + MAX_UNBAN_SKEW_MS;
  for (const { cidr, at } of commits.flatMap((c) => historyOf(c).unbans)) {
    const ms = Date.parse(at);
    if (!Number.isFinite(ms) || ms > limit) continue;
    const prev = out.get(cidr);
    if (prev === undefined || ms > Date.parse(prev)) out.set(cidr, at);
  }
  return out;
}

function writeStatus(cfg: HostConfig, status: Record<string, unknown>): void {
  try {
    const file = join(cfg.stateDir, FLUSH_STATUS_FILE);
    const at = new Date().toISOString();
    // lastSuccess survives failed flushes: the metric says how long the host has been unable to push.
    let lastSuccess: unknown = status.ok === true ? at : undefined;
    if (lastSuccess === undefined) {
      try {
        lastSuccess = (JSON.parse(readFileSync(file, 'utf8')) as { lastSuccess?: unknown }).lastSuccess;
      } catch {
        /* no earlier status */
      }
    }
    writeFileAtomicSync(file, JSON.stringify({ at, ...status, ...(typeof lastSuccess === 'string' ? { lastSuccess } : {}) }) + '\n', { mode: 0o640 });
  } catch {
    /* status is advisory; never let it hide the real outcome */
  }
}

/**
 * 500 ms, 2 s, 8 s, 8 s, …: the pause before the n-th round after the first, four times as
 * long each time (a storm that goes on costs a host a handful of commits, not one every few
 * seconds), cut short once the spool stops growing (waitGathering: the storm is over).
 * With `random`, each pause is spread ±25 % around that: hosts hit by one storm start their
 * rounds at the same moment, and with equal pauses they would keep pushing at the same
 * moments, every round a lost race (a fetch, the ledger re-applied, another push) for all
 * but one of them.
 */
export function stormPause(n: number, opts: Pick<FlushOptions, 'batchDelayMs' | 'maxBatchDelayMs'> = {}, random?: () => number): number {
  const base = opts.batchDelayMs ?? 500;
  const pause = Math.min(opts.maxBatchDelayMs ?? 8000, base * 4 ** Math.min(n, 8));
  return random ? Math.round(pause * (0.75 + 0.5 * random())) : pause;
}

/** Rounds between two runs of git's auto-maintenance in the writer repository during a long storm. */
const MAINTAIN_EVERY_ROUNDS = 16;

async function runRounds(cfg: HostConfig, opts: FlushOptions, out: FlushResult, lock: Lock): Promise<void> {
  let rounds = 0;
  try {
    await roundLoop(cfg, opts, out, lock, () => {
      if (++rounds % MAINTAIN_EVERY_ROUNDS === 0) return maintainWriterRepo(writerRepo(cfg, opts.run));
      return undefined;
    });
  } finally {
    if (rounds > 0) await maintainWriterRepo(writerRepo(cfg, opts.run));
  }
}

/** How many files the spool directory holds: a readdir, nothing read. */
function spoolSize(spool: string): number {
  try {
    return readdirSync(spool).length;
  } catch {
    return 0;
  }
}

/**
 * Waits `ms` while records keep arriving, or less: once nothing new has landed in the spool
 * for `quietMs` (the storm is over, or it was a burst), the round starts. A look is a readdir
 * every 250 ms, whatever the storm's rate (never a read per record).
 */
async function waitGathering(spool: string, ms: number, quietMs: number): Promise<void> {
  const end = Date.now() + ms;
  let size = spoolSize(spool);
  let changed = Date.now();
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(250, left)));
    const now = spoolSize(spool);
    if (now !== size) {
      size = now;
      changed = Date.now();
    } else if (Date.now() - changed >= quietMs) return;
  }
}

async function roundLoop(cfg: HostConfig, opts: FlushOptions, out: FlushResult, lock: Lock, afterRound: () => Promise<void> | undefined): Promise<void> {
  const spool = spoolPath(cfg);
  const list = lister(cfg, opts, out);
  let first = true;
  let busyRounds = 0;
  for (;;) {
    let ops = list();
    if (ops.length === 0 && !(first && opts.refresh)) return;
    // Hooks seldom come alone (a storm, or more arrived while we pushed): let them gather,
    // lock held so they start no flusher of their own, and land in one commit. The longer a
    // storm lasts, the longer each gathering (a lone ban still goes out at once).
    const pause = first ? (opts.gatherMs ?? 0) : stormPause(busyRounds++, opts, Math.random);
    if (pause > 0 && ops.length > 0) {
      if (first) await new Promise((r) => setTimeout(r, pause));
      else {
        out.pauses.push(pause);
        await waitGathering(spool, pause, opts.quietMs ?? 1000);
      }
      ops = list();
    }
    if (ops.length === 0 && !(first && opts.refresh)) return;
    first = false;
    lock.refresh();
    const done = await flushRound(cfg, ops, opts, list);
    const { commit, round } = done;
    ops = done.ops;
    await afterRound();
    const refused = round.results.filter((r) => r.outcome === 'refused');
    const refusedIds = new Set(refused.map((r) => r.op.id));
    removeOperations(spool, ops.filter((o) => !refusedIds.has(o.id)).map((o) => o.id));
    for (const r of refused) {
      recordRefused(spool, r.op, r.detail ?? 'refused');
      out.refused.push(r);
      opts.log?.(`refused ${r.op.op} ${r.cidr}: ${r.detail ?? ''}`);
    }
    for (const r of round.results) {
      if (r.outcome === 'kept') opts.log?.(`unban ${r.cidr} kept the ban: ${r.detail ?? ''}`);
      if (r.outcome === 'superseded') opts.log?.(`${r.op.op} ${r.cidr} superseded: ${r.detail ?? ''}`);
    }
    if (commit) {
      out.commits.push(commit);
      for (const r of round.results) out.commitOf[r.op.id] = commit;
    }
    out.results.push(...round.results);
    out.delivered += ops.length - refused.length;
    if (ops.length === 0) return;
  }
}

/**
 * Delivers every pending operation. Throws (TransientError, InvalidLedgerError) when the
 * remote is unreachable or the ledger at its tip is invalid: the operations stay spooled.
 */
export async function flushSpool(cfg: HostConfig, opts: FlushOptions = {}): Promise<FlushResult> {
  // The spool too: the action line writes its records there and never creates directories.
  try {
    mkdirSync(spoolPath(cfg), { recursive: true, mode: 0o750 });
  } catch (err) {
    throw spoolReadError(spoolPath(cfg), err);
  }
  const out: FlushResult = { busy: false, delivered: 0, commits: [], commitOf: {}, results: [], refused: [], rejected: [], pending: 0, pauses: [] };
  const list = lister(cfg, opts, out);
  for (;;) {
    const lock: Lock | null = opts.wait ? await waitLock(lockPath(cfg), 120_000) : tryLock(lockPath(cfg));
    if (!lock) {
      out.busy = true;
      break;
    }
    try {
      await runRounds(cfg, opts, out, lock);
    } catch (err) {
      out.pending = list().length;
      writeStatus(cfg, { ok: false, error: errorMessage(err), pending: out.pending, commits: out.commits });
      writeSpoolMetrics(spoolPath(cfg), cfg.metricsFile);
      throw err;
    } finally {
      lock.release();
    }
    // Anything spooled after our last look was left to us by a hook that saw the lock held.
    if (list().length === 0) break;
    opts = { ...opts, refresh: false };
  }
  out.pending = list().length;
  if (!out.busy) {
    writeStatus(cfg, { ok: true, delivered: out.delivered, pending: out.pending, refused: out.refused.length + out.rejected.length, commits: out.commits });
    writeSpoolMetrics(spoolPath(cfg), cfg.metricsFile);
  }
  return out;
}
