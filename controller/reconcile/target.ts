/**
 * One target's part of a run: observe → diff → guard → apply → verify. Everything that
 * goes wrong becomes this target's status; nothing is thrown to the run (isolation).
 */
import { classifyDrift, diff, isEmptyPlan, type Drift } from '../plan/diff.js';
import { TargetError, errorMessage } from '../lib/errors.js';
import { guardRemovals, type GuardVerdict } from '../plan/removal-guard.js';
import { ENFORCEMENT_ORDER, enforcedSet } from '../plan/enforced-set.js';
import { planMismatch, type SavedTargetPlan } from '../plan/saved-plan.js';
import type { TargetDoc } from '../ledger/types.js';
import type { TargetReason } from '../status/run-status.js';
import type { DesiredEntry, Logger, ObservedEntry, Plan, Target } from '../targets/types.js';

export interface TargetRun {
  name: string;
  driver: string;
  reason: TargetReason;
  /** the plan as computed (before the guard) */
  plan: Plan;
  /** removals the guard held back */
  held: ObservedEntry[];
  /** entries observed after the run (before it, when nothing was applied) */
  entries: number;
  added: number;
  removed: number;
  drift: Drift;
  error?: string;
  /** the removal guard's message when it held removals (also the error, except in a dry run) */
  guard?: string;
  warnings: string[];
  /** the target held the right entries but not their enforcement (rules, chains): apply() repaired it */
  repair: boolean;
  /** desired entries not enforced here because an enforced entry covers them */
  folded: number;
  /** desired entries not enforced here because the target is full */
  leftOut: number;
  /** how many entries the target can hold, when it has a limit that bit */
  capacity?: number;
}

export interface SyncTargetInput {
  desired: readonly DesiredEntry[];
  /** every removal limit in force (controller/plan/guard-limits.ts): the smallest count wins */
  maxRemovePerRun: readonly (string | number)[];
  dryRun: boolean;
  force: boolean;
  /** which of the given keys the previous successful run desired, for drift accounting (asked only when a plan is not empty) */
  previousDesired: ((probe: ReadonlySet<string>) => ReadonlySet<string> | undefined) | undefined;
  /** entries the previous run left out of this target for lack of capacity: the warning is logged only when this changes */
  previousLeftOut?: number;
  /** with `reconcile --plan FILE`: the saved plan this target must match, or why the whole plan is stale */
  savedPlan?: { target: SavedTargetPlan | undefined; stale?: string | undefined };
  log: Logger;
}

const EMPTY: Plan = { add: [], remove: [] };

export async function syncTarget(created: { doc: TargetDoc; target?: Target; error?: string }, input: SyncTargetInput): Promise<TargetRun> {
  const { doc, target } = created;
  const name = doc.metadata.name;
  const run: TargetRun = {
    name, driver: doc.spec.driver, reason: 'UpToDate', plan: EMPTY, held: [], entries: 0, added: 0, removed: 0,
    drift: { readded: 0, removed: 0 }, warnings: [], repair: false, folded: 0, leftOut: 0,
  };
  const fail = (reason: TargetReason, err: unknown): TargetRun => {
    run.reason = reason;
    run.error = errorMessage(err);
    input.log.error('target.failed', { target: name, driver: run.driver, reason, error: run.error });
    return run;
  };
  if (!target) return fail('CreateFailed', created.error ?? 'target could not be created');
  let observed: ObservedEntry[];
  try {
    observed = await target.observe();
  } catch (err) {
    return fail('ObserveFailed', err);
  }
  run.warnings = target.warnings?.() ?? [];
  for (const w of run.warnings) input.log.warn('target.warning', { target: name, warning: w });
  run.entries = observed.length;
  let enforce: DesiredEntry[];
  try {
    const set = enforcedSet(input.desired, target.capacity ? (ranked) => target.capacity!(ranked) : undefined, {
      held: () => new Set(observed.map((o) => o.cidr)),
      ...(input.previousDesired && { previouslyDesired: input.previousDesired }),
      ...(target.coveredElsewhere && { coveredElsewhere: target.coveredElsewhere() }),
    });
    enforce = set.entries;
    run.folded = set.folded;
    run.leftOut = set.leftOut;
    if (set.capacity !== undefined && set.leftOut > 0) run.capacity = set.capacity;
  } catch (err) {
    return fail('ObserveFailed', err);
  }
  if (run.leftOut > 0 && run.leftOut !== input.previousLeftOut) {
    input.log.warn('target.full', {
      target: name, capacity: run.capacity, enforced: enforce.length, leftOut: run.leftOut, order: ENFORCEMENT_ORDER,
      message: `target ${name} is full: it enforces ${enforce.length} entries and leaves out ${run.leftOut} less important ones (${ENFORCEMENT_ORDER})`,
    });
  } else if (run.leftOut === 0 && (input.previousLeftOut ?? 0) > 0) {
    input.log.info('target.fits', { target: name, enforced: enforce.length });
  }
  run.plan = diff(enforce, observed);
  run.repair = target.needsRepair?.() === true;
  if (input.savedPlan) {
    // Exactly what was reviewed, or nothing: a plan computed now that differs is stale.
    const why = input.savedPlan.stale ?? planMismatch(input.savedPlan.target, run.plan);
    if (why) return fail('PlanStale', new TargetError(name, 'E_PLAN_STALE', `target ${name}: the saved plan is stale (${why}); nothing applied, run fail2git plan --out again`));
  }
  const verdict = guardStillDesired(run.plan, input, observed.length);
  if (!verdict.ok) {
    run.held = verdict.held;
    run.guard = verdict.message;
    input.log[input.dryRun ? 'warn' : 'error']('guard.refused', { target: name, remove: run.plan.remove.length, held: observed.length, message: verdict.message });
  }
  if (input.dryRun) {
    // A dry run describes; a plan the guard would refuse is not a failure of the dry run.
    run.reason = isEmptyPlan(run.plan) && !run.repair ? 'UpToDate' : 'DryRun';
    return run;
  }
  if (!isEmptyPlan(verdict.plan) || run.repair) {
    try {
      const res = await target.apply(verdict.plan);
      run.added = res.added;
      run.removed = res.removed;
    } catch (err) {
      return fail('ApplyFailed', err);
    }
    const probe = new Set([...verdict.plan.add, ...verdict.plan.remove].map((e) => e.cidr));
    run.drift = classifyDrift(verdict.plan, input.previousDesired?.(probe));
    input.log.info('apply', { target: name, driver: run.driver, added: run.added, removed: run.removed, driftReadded: run.drift.readded, driftRemoved: run.drift.removed, repaired: run.repair });
    try {
      run.entries = await verify(target, enforce, run.held);
    } catch (err) {
      return fail('VerifyFailed', err);
    }
    run.reason = 'Applied';
  }
  if (!verdict.ok) {
    run.reason = 'GuardRefused';
    run.error = verdict.message;
  }
  return run;
}

/**
 * The removal guard, for removals the ledger asked for. Taking out an entry the ledger still
 * wants (now covered by a broader enforced entry, or left out of a full target) unbans
 * nothing it did not decide, so those removals are not held back.
 */
function guardStillDesired(plan: Plan, input: SyncTargetInput, held: number): GuardVerdict {
  if (plan.remove.length === 0) return guardRemovals(plan, held, input.maxRemovePerRun, input.force);
  const wanted = new Set(input.desired.map((d) => d.cidr));
  const still = plan.remove.filter((r) => wanted.has(r.cidr));
  if (still.length === 0) return guardRemovals(plan, held, input.maxRemovePerRun, input.force);
  const other = plan.remove.filter((r) => !wanted.has(r.cidr));
  const verdict = guardRemovals({ add: plan.add, remove: other }, held, input.maxRemovePerRun, input.force);
  return { ...verdict, plan: { add: verdict.plan.add, remove: [...verdict.plan.remove, ...still] } };
}

/** Observes again: the target must now hold exactly desired ∪ held-back removals, enforced; returns how many it holds. */
async function verify(target: Target, desired: readonly DesiredEntry[], held: readonly ObservedEntry[]): Promise<number> {
  const after = await target.observe();
  if (target.needsRepair?.() === true) throw new TargetError(target.name, 'E_TARGET_VERIFY', 'verify: after apply the target still does not enforce its entries (rules or chains)');
  const expected: DesiredEntry[] = [...desired, ...held.map((h) => ({ cidr: h.cidr, family: h.family }))];
  const left = diff(expected, after);
  if (isEmptyPlan(left)) return after.length;
  const sample = [...left.add.map((a) => `+${a.cidr}`), ...left.remove.map((r) => `-${r.cidr}`)].slice(0, 3).join(' ');
  throw new TargetError(target.name, 'E_TARGET_VERIFY', `verify: after apply the target still differs by ${left.add.length} missing and ${left.remove.length} extra entries (${sample})`);
}
