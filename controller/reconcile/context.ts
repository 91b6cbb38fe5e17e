/** The types one reconcile run passes between its steps (controller/reconcile.ts). */
import type { DesiredCache } from '../desired/cache.js';
import type { SyncResult } from '../git/clone.js';
import type { TransientError } from '../lib/errors.js';
import type { Ledger, TargetDoc } from '../ledger/types.js';
import type { Runner } from '../lib/exec.js';
import type { RunStatus } from '../status/run-status.js';
import type { DesiredEntry, Logger, Target } from '../targets/types.js';
import type { LedgerTargetDeps } from '../targets/index.js';
import type { PveCredential, WritablePaths } from '../config/host-config.js';
import type { LastGood } from './last-good.js';
import type { EffectiveLimits, GuardLimits } from '../plan/guard-limits.js';
import type { SavedPlan } from '../plan/saved-plan.js';
import type { TargetRun } from './target.js';

/** The parts of the host config a run needs. */
export interface ReconcileConfig {
  remote: string;
  branch: string;
  host: string;
  stateDir: string;
  metricsFile: string;
  /** host-owned sinks (controller/targets/host-sinks.ts); absent = the defaults */
  path?: string;
  writablePaths?: WritablePaths | undefined;
  pveCredentials?: Record<string, PveCredential> | undefined;
  allowedSigners?: string | undefined;
  adminSigners?: string | undefined;
  signingKey?: string | undefined;
}

export interface ReconcileOptions {
  /** observe and plan, change nothing */
  dryRun?: boolean;
  /** apply plans the removal guard would refuse */
  force?: boolean;
  /** only these targets (by metadata.name) */
  targets?: readonly string[];
  /** log the `run` line only when something changed or failed (watch mode) */
  quiet?: boolean;
  /**
   * Enforce what the clone already holds, touching no network (watch mode: the fetch runs in
   * the background, so an expiry never waits on the remote). `lastError` is the background
   * fetch's last failure, reported as this run's.
   */
  local?: { lastError?: TransientError | undefined };
  /** apply exactly this saved plan (controller/plan/saved-plan.ts): a target whose plan differs is refused */
  savedPlan?: SavedPlan;
}

export type CommitVerdict = { ok: true } | { ok: false; message: string };

export interface ReconcileDeps {
  run: Runner;
  log: Logger;
  now: () => Date;
  createTarget: (doc: TargetDoc, deps: LedgerTargetDeps) => Promise<Target>;
  /** signature and signer-role check of a new tip (controller/git/signing.ts); `now` is the time of verification; absent = accept */
  verifyCommit?: (rev: string, lastGood: string | undefined, now: Date) => Promise<CommitVerdict>;
  /** the previous run's desired entries (watch mode keeps them in memory; else read from stateDir) */
  previousDesired?: readonly DesiredEntry[];
}

export interface RunResult {
  status: RunStatus;
  targets: TargetRun[];
  /** earliest future expiry: when the next run must happen at the latest */
  nextExpiry?: Date;
  /** desired entries of this run, for the next run's drift accounting */
  desired: readonly DesiredEntry[];
  /** --target names that matched nothing for this host */
  unknownTargets: string[];
  /**
   * The allowlist and policy of the enforced commit, when this run read them in full (a new
   * tip): the fail2ban side's cache (guard.json) is refreshed from them.
   */
  enforced?: { rev: string; ledger: Pick<Ledger, 'allow' | 'policy'> };
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
  /** the last good commit before this run looked at the tip */
  enforcedBefore?: string;
  /** the guard's limits this run (controller/reconcile/guard.ts) */
  guard?: { baseline?: GuardLimits; applied: GuardLimits; limits: EffectiveLimits; loosened: string[]; forced: boolean };
  ledger?: Ledger;
  /** the ledger holds only policy and targets; its bans are in `cache` */
  ledgerIsLight?: boolean;
  cache?: DesiredCache;
  applied?: string;
  tipProblems: string[];
  /** when the invalid tip's problems were found (they are remembered, not re-parsed every tick) */
  tipCheckedAt?: string;
  docs: TargetDoc[];
  unknownTargets: string[];
  desired: DesiredEntry[];
  /** names this desired set: commit, protection, size (see desiredIdentity) */
  desiredId?: string;
  skipped: Record<string, number>;
  nextExpiry?: Date;
  targetRuns: TargetRun[];
  fatal?: string;
  /** side work started during the run (never fails), awaited before it ends */
  pending: Promise<unknown>[];
}

