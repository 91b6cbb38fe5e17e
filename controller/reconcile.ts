/**
 * One reconcile run, as a short list of named steps (DESIGN "Components"):
 *
 *   syncLedger → loadLedger → selectTargets → desired → syncTargets   (finally: record)
 *
 * Level-triggered: every run re-reads the ledger at the remote tip and every target's
 * real contents, then converges; it never trusts its memory of what it did. One target
 * failing never stops the others. Bad input never flushes anything: an invalid tip or an
 * unreachable remote leaves the last good commit enforced (expiries still happen, since
 * the desired set is recomputed with `now`).
 */
import { ledgerClonePath } from './config.js';
import { desiredSet } from './desired.js';
import { errorMessage } from './errors.js';
import { checkoutRev, syncClone, type SyncResult } from './git/clone.js';
import { readLastGood, readLedgerSnapshot, writeLastGood, type LastGood } from './last-good.js';
import { formatProblem, type Ledger, type LoadResult, type TargetDoc } from './ledger/types.js';
import { parseProtected } from './guard.js';
import { protectedAddresses } from './protect.js';
import { readStatus, type RunStatus } from './status.js';
import { recordRun, readPreviousDesired } from './reconcile-record.js';
import { syncTarget, type TargetRun } from './reconcile-target.js';
import type { DesiredEntry, Logger, Target, TargetDeps } from './targets/types.js';
import type { Runner } from './targets/utils/exec.js';

/** The parts of the host config a run needs. */
export interface ReconcileConfig {
  remote: string;
  branch: string;
  host: string;
  stateDir: string;
  metricsFile: string;
}

export interface ReconcileOptions {
  /** observe and plan, change nothing */
  dryRun?: boolean;
  /** apply plans the removal guard would refuse */
  force?: boolean;
  /** only these targets (by metadata.name) */
  targets?: readonly string[];
}

export type CommitVerdict = { ok: true } | { ok: false; message: string };

export interface ReconcileDeps {
  run: Runner;
  log: Logger;
  now: () => Date;
  createTarget: (doc: TargetDoc, deps: TargetDeps) => Promise<Target>;
  /** signature check of a new tip (issue 7); absent = accept */
  verifyCommit?: (rev: string, lastGood: string | undefined) => Promise<CommitVerdict>;
  /** the previous run's desired keys (watch mode keeps them in memory) */
  previousDesired?: ReadonlySet<string>;
}

export interface RunResult {
  status: RunStatus;
  targets: TargetRun[];
  /** earliest future expiry: when the next run must happen at the latest */
  nextExpiry?: Date;
  /** desired keys of this run, for the next run's drift accounting */
  desiredKeys: Set<string>;
  /** --target names that matched nothing for this host */
  unknownTargets: string[];
}

/** Everything a run learns on the way; each step fills in its part. */
export interface RunContext {
  cfg: ReconcileConfig;
  opts: ReconcileOptions;
  deps: ReconcileDeps;
  startedAt: Date;
  previous?: RunStatus;
  sync?: SyncResult;
  lastGood?: LastGood;
  ledger?: Ledger;
  applied?: string;
  tipProblems: string[];
  docs: TargetDoc[];
  unknownTargets: string[];
  desired: DesiredEntry[];
  skipped: Record<string, number>;
  nextExpiry?: Date;
  targetRuns: TargetRun[];
  fatal?: string;
}

export async function reconcile(cfg: ReconcileConfig, opts: ReconcileOptions, deps: ReconcileDeps): Promise<RunResult> {
  const ctx: RunContext = {
    cfg, opts, deps, startedAt: deps.now(), previous: readStatus(cfg.stateDir),
    tipProblems: [], docs: [], unknownTargets: [], desired: [], skipped: {}, targetRuns: [],
  };
  try {
    await syncLedger(ctx);
    await loadLedger(ctx);
    if (ctx.ledger) {
      selectTargets(ctx);
      const targets = await createTargets(ctx);
      await computeDesired(ctx, targets);
      await syncTargets(ctx, targets);
    }
  } catch (err) {
    // A step that throws is a bug or an unexpected environment; still record the run.
    ctx.fatal = errorMessage(err);
    deps.log.error('run.failed', { error: ctx.fatal });
  }
  const desiredKeys = new Set(ctx.desired.map((d) => d.cidr));
  const status = recordRun(ctx, desiredKeys);
  return { status, targets: ctx.targetRuns, nextExpiry: ctx.nextExpiry, desiredKeys, unknownTargets: ctx.unknownTargets };
}

/** ls-remote; fetch only when the tip moved. Unreachable → keep what was fetched before. */
async function syncLedger(ctx: RunContext): Promise<void> {
  const { cfg, deps } = ctx;
  ctx.sync = await syncClone(cfg.remote, ledgerClonePath(cfg), cfg.branch, deps.run);
  if (ctx.sync.error) deps.log.warn('fetch.failed', { code: ctx.sync.error.code, error: ctx.sync.error.message, tip: ctx.sync.tip });
  else if (ctx.sync.fetched) deps.log.info('fetch', { tip: ctx.sync.tip });
}

/** The tip when it is valid and verified; otherwise the last good commit, with the reasons kept. */
async function loadLedger(ctx: RunContext): Promise<void> {
  const { cfg, deps } = ctx;
  const tip = ctx.sync?.tip;
  ctx.lastGood = readLastGood(cfg.stateDir);
  if (tip && tip !== ctx.lastGood?.rev) {
    const known = ctx.previous?.commit.tip === tip ? ctx.previous.commit.tipProblems : [];
    // An invalid tip seen last run is not parsed again every tick: its problems are remembered.
    ctx.tipProblems = known.length > 0 ? known : await checkTip(ctx, tip);
    if (ctx.tipProblems.length === 0) {
      ctx.lastGood = writeLastGood(cfg.stateDir, tip, ctx.ledger!, deps.now());
      ctx.applied = tip;
      deps.log.info('ledger.accepted', { rev: tip });
      await checkoutRev(ledgerClonePath(cfg), cfg.branch, tip, deps.run).catch((err: unknown) =>
        deps.log.warn('checkout.failed', { rev: tip, error: errorMessage(err) }));
      return;
    }
    deps.log.error('ledger.invalid', { rev: tip, problems: ctx.tipProblems.length, first: ctx.tipProblems[0], enforcing: ctx.lastGood?.rev ?? null });
  }
  if (!ctx.lastGood) return;
  ctx.ledger = readLedgerSnapshot(cfg.stateDir, ctx.lastGood.rev) ?? (await reloadLastGood(ctx, ctx.lastGood.rev));
  ctx.applied = ctx.ledger ? ctx.lastGood.rev : undefined;
}

/**
 * The YAML parser and schema validators load only when a new commit must be parsed: a run
 * whose tip has not moved reads the JSON snapshot and never pays for them.
 */
async function loadLedgerFromGit(repoDir: string, rev: string): Promise<LoadResult> {
  const { loadLedgerFromGit: load } = await import('./ledger/load.js');
  return load(repoDir, rev);
}

/** Loads and verifies a new tip; returns its problems (empty = good, and ctx.ledger is set). */
async function checkTip(ctx: RunContext, tip: string): Promise<string[]> {
  let loaded;
  try {
    loaded = await loadLedgerFromGit(ledgerClonePath(ctx.cfg), tip);
  } catch (err) {
    return [`${tip.slice(0, 12)}: ${errorMessage(err)}`];
  }
  if (loaded.problems.length > 0) return loaded.problems.map(formatProblem);
  const verdict = ctx.deps.verifyCommit ? await ctx.deps.verifyCommit(tip, ctx.lastGood?.rev) : { ok: true as const };
  if (!verdict.ok) return [`${tip.slice(0, 12)}: ${verdict.message}`];
  ctx.ledger = slimLedger(loaded.ledger);
  return [];
}

async function reloadLastGood(ctx: RunContext, rev: string): Promise<Ledger | undefined> {
  try {
    const loaded = await loadLedgerFromGit(ledgerClonePath(ctx.cfg), rev);
    if (loaded.problems.length > 0) return undefined;
    const ledger = slimLedger(loaded.ledger);
    writeLastGood(ctx.cfg.stateDir, rev, ledger, ctx.deps.now());
    return ledger;
  } catch (err) {
    ctx.deps.log.error('ledger.last-good-unreadable', { rev, error: errorMessage(err) });
    return undefined;
  }
}

/** Only what enforcing needs: keeps the cached snapshot small and quick to parse. */
function slimLedger(l: Ledger): Ledger {
  const bans = l.bans.map(({ cidr, expires, by, jail }) => ({ cidr, ...(expires && { expires }), ...(by && { by }), ...(jail && { jail }) }));
  return { ...l, bans };
}

/** Target documents whose host globs match this host, narrowed by --target. */
function selectTargets(ctx: RunContext): void {
  const mine = ctx.ledger!.targets.filter((d) => hostMatches(d.spec.hosts, ctx.cfg.host));
  const wanted = ctx.opts.targets;
  ctx.docs = wanted && wanted.length > 0 ? mine.filter((d) => wanted.includes(d.metadata.name)) : mine;
  ctx.unknownTargets = (wanted ?? []).filter((n) => !mine.some((d) => d.metadata.name === n));
}

/** Glob patterns (`*`, `?`, `[abc]`) on the host name; no patterns = every host. */
export function hostMatches(patterns: readonly string[] | undefined, host: string): boolean {
  if (!patterns) return true;
  return patterns.some((p) => globToRegExp(p).test(host));
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[' || ch === ']') re += ch;
    else re += ch.replace(/[.+^${}()|\\/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

type Created = { doc: TargetDoc; target?: Target; error?: string };

async function createTargets(ctx: RunContext): Promise<Created[]> {
  const { deps, cfg } = ctx;
  const tdeps: TargetDeps = { run: deps.run, log: deps.log, now: deps.now, host: cfg.host };
  return Promise.all(
    ctx.docs.map(async (doc): Promise<Created> => {
      try {
        return { doc, target: await deps.createTarget(doc, tdeps) };
      } catch (err) {
        deps.log.error('target.create-failed', { target: doc.metadata.name, driver: doc.spec.driver, error: errorMessage(err) });
        return { doc, error: errorMessage(err) };
      }
    }),
  );
}

/** Live entries now, minus allowlisted, too broad and protected addresses. */
async function computeDesired(ctx: RunContext, created: Created[]): Promise<void> {
  const { deps } = ctx;
  const fromTargets: string[] = [];
  for (const c of created) {
    try {
      fromTargets.push(...((await c.target?.protectedAddresses?.()) ?? []));
    } catch (err) {
      deps.log.warn('protect.failed', { source: c.doc.metadata.name, error: errorMessage(err) });
    }
  }
  const addrs = await protectedAddresses({
    run: deps.run, remote: ctx.cfg.remote, targetDocs: ctx.ledger!.targets, fromTargets,
    onError: (source, err) => deps.log.warn('protect.failed', { source, error: errorMessage(err) }),
  });
  // desiredSet drops bans overlapping a protected address (reason `protected`).
  const d = desiredSet(ctx.ledger!, deps.now(), parseProtected(addrs).map((p) => p.key));
  ctx.desired = d.entries;
  ctx.nextExpiry = d.nextExpiry;
  for (const s of d.skipped) {
    ctx.skipped[s.reason] = (ctx.skipped[s.reason] ?? 0) + 1;
    if (s.reason === 'protected') deps.log.warn('skip.protected', { cidr: s.cidr, detail: s.detail });
  }
}

/** Every selected target, concurrently; each isolated from the others' failures. */
async function syncTargets(ctx: RunContext, created: Created[]): Promise<void> {
  let cached: ReadonlySet<string> | undefined | null = ctx.deps.previousDesired ?? null;
  const previousDesired = (): ReadonlySet<string> | undefined => (cached === null ? (cached = readPreviousDesired(ctx)) : cached);
  ctx.targetRuns = await Promise.all(
    created.map(async (c) => {
      const prevOk = ['UpToDate', 'Applied'].includes(ctx.previous?.targets[c.doc.metadata.name]?.reason ?? '');
      const run = await syncTarget(c, {
        desired: ctx.desired, policy: ctx.ledger!.policy, dryRun: ctx.opts.dryRun === true, force: ctx.opts.force === true,
        previousDesired: prevOk ? previousDesired : undefined, log: ctx.deps.log,
      });
      await c.target?.close?.().catch(() => undefined);
      return run;
    }),
  );
}
