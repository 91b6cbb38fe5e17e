/**
 * Which limits guard a run (DESIGN "Who decides what"): the stricter of the commit last
 * enforced in full and the commit enforced now (controller/plan/guard-limits.ts). The
 * newer commit's limits become the baseline only after a run in which every target took
 * it without the guard holding anything back; --force applies them at once, logged.
 */
import { errorMessage } from '../lib/errors.js';
import { ledgerClonePath } from '../config/host-config.js';
import { readDesiredCache } from '../desired/cache.js';
import { limitsOf, ownLimits, stricterLimits, type GuardLimits } from '../plan/guard-limits.js';
import type { RunContext } from './context.js';
import { readGuardBaseline, readLedgerSnapshot, writeGuardBaseline } from './last-good.js';
import { loadLedgerFromGit } from './ledger.js';

/** Sets ctx.guard: the baseline, the applied commit's own limits, and the limits in force. */
export async function guardLimits(ctx: RunContext): Promise<void> {
  const { cfg, deps } = ctx;
  const applied = limitsOf(ctx.applied!, ctx.ledger!);
  let baseline = readGuardBaseline(cfg.stateDir);
  // First run with this version: the commit enforced before this run is the baseline.
  if (!baseline && ctx.enforcedBefore && ctx.enforcedBefore !== applied.rev) baseline = await limitsAt(ctx, ctx.enforcedBefore);
  const stricter = stricterLimits(baseline, applied);
  const forced = ctx.opts.force === true && stricter.kept.length > 0;
  ctx.guard = { ...(baseline && { baseline }), applied, limits: forced ? ownLimits(applied) : stricter, loosened: stricter.kept, forced };
  if (stricter.kept.length === 0) return;
  const fields = { rev: applied.rev, enforced: baseline!.rev, kept: stricter.kept };
  if (forced) deps.log.warn('guard.forced', { ...fields, message: `--force: the looser limits of ${applied.rev.slice(0, 12)} apply at once` });
  else deps.log.warn('guard.stricter', { ...fields, message: `${applied.rev.slice(0, 12)} loosens the guard; the stricter limits of ${baseline!.rev.slice(0, 12)} apply until it is enforced in full` });
}

/**
 * After the targets: when this run enforced the applied commit everywhere (not a dry run,
 * not narrowed by --target, every target up to date or applied), its limits become the baseline.
 */
export function advanceGuard(ctx: RunContext): void {
  const g = ctx.guard;
  if (!g || ctx.opts.dryRun || (ctx.opts.targets?.length ?? 0) > 0) return;
  if (!ctx.targetRuns.every((t) => t.reason === 'UpToDate' || t.reason === 'Applied')) return;
  if (g.baseline && g.baseline.rev === g.applied.rev) return;
  try {
    writeGuardBaseline(ctx.cfg.stateDir, g.applied);
  } catch (err) {
    ctx.deps.log.warn('guard.write-failed', { error: errorMessage(err) });
    return;
  }
  if (g.loosened.length > 0 && !g.forced) ctx.deps.log.info('guard.enforced', { rev: g.applied.rev, message: `${g.applied.rev.slice(0, 12)} is enforced in full; its limits apply from the next run` });
}

/** The limits of an older commit: from a cache of it when one is at hand, else from git. */
async function limitsAt(ctx: RunContext, rev: string): Promise<GuardLimits | undefined> {
  const { stateDir } = ctx.cfg;
  const cached = readLedgerSnapshot(stateDir, rev) ?? readDesiredCache(stateDir, rev);
  if (cached) return limitsOf(rev, { policy: cached.policy, allow: cached.allow.map((a) => (typeof a === 'string' ? { cidr: a } : a)) });
  try {
    const loaded = await loadLedgerFromGit(ledgerClonePath(ctx.cfg), rev);
    return loaded.problems.length === 0 ? limitsOf(rev, loaded.ledger) : undefined;
  } catch (err) {
    ctx.deps.log.warn('guard.baseline-unreadable', { rev, error: errorMessage(err) });
    return undefined;
  }
}
