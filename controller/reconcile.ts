/**
 * One reconcile run, as a short list of named steps (DESIGN "Components"):
 *
 *   syncLedger → loadLedger → guardLimits → selectTargets → desired → syncTargets → advanceGuard
 *   (finally: record)
 *
 * Level-triggered: every run re-reads the ledger at the remote tip and every target's
 * real contents, then converges; it never trusts its memory of what it did. One target
 * failing never stops the others. Bad input never flushes anything: an invalid tip or an
 * unreachable remote leaves the last good commit enforced (expiries still happen, since
 * the desired set is recomputed with `now`).
 */
import { ledgerClonePath } from './config/host-config.js';
import { errorMessage } from './lib/errors.js';
import { localSync, syncClone } from './git/clone.js';
import type { TargetDoc } from './ledger/types.js';
import { hostMatches } from './ledger/hosts.js';
import { parseProtected } from './desired/protected-ranges.js';
import { protectedAddresses } from './desired/protected.js';
import { readStatus } from './status/run-status.js';
import { computeDesired, loadLedger } from './reconcile/ledger.js';
import { recordRun, readPreviousDesired } from './reconcile/record.js';
import { syncTarget } from './reconcile/target.js';
import { advanceGuard, guardLimits } from './reconcile/guard.js';
import type { RunContext, ReconcileConfig, ReconcileDeps, ReconcileOptions, RunResult } from './reconcile/context.js';
import type { Target } from './targets/types.js';
import type { LedgerTargetDeps } from './targets/index.js';
import { hostSinks } from './targets/host-sinks.js';

export type { CommitVerdict, ReconcileConfig, ReconcileDeps, ReconcileOptions, RunContext, RunResult } from './reconcile/context.js';

export async function reconcile(cfg: ReconcileConfig, opts: ReconcileOptions, deps: ReconcileDeps): Promise<RunResult> {
  const ctx: RunContext = {
    cfg, opts, deps, startedAt: deps.now(), previous: readStatus(cfg.stateDir),
    tipProblems: [], docs: [], unknownTargets: [], desired: [], skipped: {}, targetRuns: [], pending: [],
  };
  let targets: Created[] = [];
  try {
    await syncLedger(ctx);
    await loadLedger(ctx);
    if (ctx.ledger) {
      await guardLimits(ctx);
      selectTargets(ctx);
      targets = await createTargets(ctx);
      await computeDesired(ctx, await gatherProtected(ctx, targets));
      await syncTargets(ctx, targets);
      advanceGuard(ctx);
    }
  } catch (err) {
    // A step that throws is a bug or an unexpected environment; still record the run.
    ctx.fatal = errorMessage(err);
    deps.log.error('run.failed', { error: ctx.fatal });
  }
  await Promise.all([...ctx.pending, ...targets.map((c) => c.target?.close?.().catch(() => undefined))]);
  const status = recordRun(ctx);
  const result: RunResult = { status, targets: ctx.targetRuns, nextExpiry: ctx.nextExpiry, desired: ctx.desired, unknownTargets: ctx.unknownTargets };
  if (ctx.ledger && !ctx.ledgerIsLight && ctx.applied) result.enforced = { rev: ctx.applied, ledger: ctx.ledger };
  return result;
}

/**
 * ls-remote; fetch only when the tip moved. Unreachable → keep what was fetched before.
 * With `opts.local` (watch mode) no network at all: the clone's tip, fetched beside the run.
 */
async function syncLedger(ctx: RunContext): Promise<void> {
  const { cfg, deps } = ctx;
  if (ctx.opts.local) {
    ctx.sync = await localSync(ledgerClonePath(cfg), cfg.branch, ctx.opts.local.lastError, deps.run);
    return;
  }
  ctx.sync = await syncClone(cfg.remote, ledgerClonePath(cfg), cfg.branch, deps.run);
  if (ctx.sync.error) deps.log.warn('fetch.failed', { code: ctx.sync.error.code, error: ctx.sync.error.message, tip: ctx.sync.tip });
  else if (ctx.sync.fetched) deps.log.info('fetch', { tip: ctx.sync.tip });
}

/** Target documents whose host globs match this host, narrowed by --target. */
function selectTargets(ctx: RunContext): void {
  const mine = ctx.ledger!.targets.filter((d) => hostMatches(d.spec.hosts, ctx.cfg.host));
  const wanted = ctx.opts.targets;
  ctx.docs = wanted && wanted.length > 0 ? mine.filter((d) => wanted.includes(d.metadata.name)) : mine;
  ctx.unknownTargets = (wanted ?? []).filter((n) => !mine.some((d) => d.metadata.name === n));
}

type Created = { doc: TargetDoc; target?: Target; error?: string };

async function createTargets(ctx: RunContext): Promise<Created[]> {
  const { deps, cfg } = ctx;
  const tdeps: LedgerTargetDeps = { run: deps.run, log: deps.log, now: deps.now, host: cfg.host, sinks: hostSinks(cfg) };
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

/** Addresses never to enforce: this host's, the remote's, API endpoints', the targets' own. */
async function gatherProtected(ctx: RunContext, created: Created[]): Promise<string[]> {
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
    endpoints: Object.values(ctx.cfg.pveCredentials ?? {}).map((c) => c.url),
    onError: (source, err) => deps.log.warn('protect.failed', { source, error: errorMessage(err) }),
  });
  return parseProtected(addrs).map((p) => p.key);
}

/** Every selected target, concurrently; each isolated from the others' failures. */
async function syncTargets(ctx: RunContext, created: Created[]): Promise<void> {
  // Asked only when a plan is not empty, and only about the plan's keys: no 100k-key set.
  const inMemory = ctx.deps.previousDesired;
  const saved = ctx.opts.savedPlan;
  const staleCommit = saved && saved.commit !== ctx.applied
    ? `it is for commit ${saved.commit.slice(0, 12)}, this run enforces ${ctx.applied?.slice(0, 12) ?? 'none'}` : undefined;
  const previousDesired = (probe: ReadonlySet<string>): ReadonlySet<string> | undefined =>
    inMemory ? new Set(inMemory.filter((d) => probe.has(d.cidr)).map((d) => d.cidr)) : readPreviousDesired(ctx, probe);
  ctx.targetRuns = await Promise.all(
    created.map(async (c) => {
      const prev = ctx.previous?.targets[c.doc.metadata.name];
      const prevOk = ['UpToDate', 'Applied'].includes(prev?.reason ?? '');
      return syncTarget(c, {
        ...(prev?.leftOut !== undefined && { previousLeftOut: prev.leftOut }),
        desired: ctx.desired, maxRemovePerRun: ctx.guard?.limits.maxRemovePerRun ?? [ctx.ledger!.policy.maxRemovePerRun], dryRun: ctx.opts.dryRun === true, force: ctx.opts.force === true,
        previousDesired: prevOk ? previousDesired : undefined, log: ctx.deps.log,
        ...(saved && { savedPlan: { target: saved.targets[c.doc.metadata.name], stale: staleCommit } }),
      });
    }),
  );
}

export { hostMatches } from './ledger/hosts.js';
