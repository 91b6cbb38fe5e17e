/**
 * What the last run did, for people (`fail2git status`), for monitoring (a Prometheus
 * textfile for node_exporter) and for the next run (counters carried forward).
 * Both files are written atomically: a reader never sees half a file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../lib/files.js';
import { redact } from '../lib/redact.js';

/** Why a run ended the way it did (flux-style condition reasons). */
export type RunReason =
  | 'UpToDate' // nothing to change
  | 'Applied' // changes applied and verified
  | 'DryRun' // changes found, none made
  | 'PullFailed' // remote unreachable: the last fetched good commit is enforced
  | 'InvalidLedger' // the tip is invalid: the last good commit is enforced
  | 'TargetsFailed' // at least one target failed or was refused
  | 'NoLedger'; // nothing good was ever fetched: nothing enforced

export type TargetReason = 'UpToDate' | 'Applied' | 'DryRun' | 'GuardRefused' | 'PlanStale' | 'CreateFailed' | 'ObserveFailed' | 'ApplyFailed' | 'VerifyFailed';

export interface TargetStatus {
  driver: string;
  reason: TargetReason;
  /** entries the target holds after this run (as observed) */
  entries: number;
  added: number;
  removed: number;
  /** removals the guard held back */
  heldRemovals: number;
  /** desired entries not enforced here because an enforced entry of this target covers them (absent in older files) */
  folded?: number;
  /** desired entries not enforced here because the target is full (absent in older files) */
  leftOut?: number;
  /** how many entries the target can hold, when that limit left entries out */
  capacity?: number;
  /** the run's error, one line; absent when it succeeded */
  error?: string;
  lastSuccessAt?: string;
  lastError?: { at: string; message: string };
  errorsTotal: number;
  /** entries put back or taken out that the ledger did not change (someone edited the firewall) */
  driftCorrectedTotal: number;
  driftLast: { readded: number; removed: number };
}

export interface RunStatus {
  version: 1;
  host: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  reason: RunReason;
  /** one line for people */
  message: string;
  ok: boolean;
  dryRun: boolean;
  remote: { url: string; reachable: boolean; tip?: string; error?: string };
  /** the commit enforced this run, and whether the tip was it */
  /** tipCheckedAt: when an invalid tip was last parsed (it is re-checked every few minutes, or when it moves) */
  commit: { applied?: string; tip?: string; tipProblems: string[]; tipCheckedAt?: string };
  desired: { entries: number; skipped: Record<string, number>; nextExpiry?: string; digest?: string };
  targets: Record<string, TargetStatus>;
  /** the applied commit loosens the guard: whose stricter limits still apply, and which */
  guard?: { limitsOf: string; kept: string[]; forced: boolean };
  lastSuccessAt?: string;
  runsTotal: number;
}

export const STATUS_FILE = 'status.json';

export function statusPath(stateDir: string): string {
  return join(stateDir, STATUS_FILE);
}

export function readStatus(stateDir: string): RunStatus | undefined {
  try {
    const s = JSON.parse(readFileSync(statusPath(stateDir), 'utf8')) as RunStatus;
    return s && s.version === 1 ? s : undefined;
  } catch {
    return undefined;
  }
}

export function writeStatus(stateDir: string, status: RunStatus): void {
  writeFileAtomicSync(statusPath(stateDir), redact(JSON.stringify(status, null, 2)) + '\n', { mkdir: true });
}

/** Prometheus text exposition of a run, for node_exporter's textfile collector. Pure. */
export function renderMetrics(s: RunStatus): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
  };
  const per = (f: (t: TargetStatus) => number): [string, number][] =>
    Object.entries(s.targets).map(([name, t]) => [`{target="${escapeLabel(name)}",driver="${escapeLabel(t.driver)}"}`, f(t)]);
  const seconds = (iso?: string): number => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);
  metric('fail2git_desired_entries', 'gauge', 'Entries the ledger wants enforced now.', [['', s.desired.entries]]);
  metric('fail2git_target_entries', 'gauge', 'Entries a target holds after the last run.', per((t) => t.entries));
  metric('fail2git_target_up', 'gauge', '1 when the target succeeded in the last run.', per((t) => (t.error ? 0 : 1)));
  metric('fail2git_target_errors_total', 'counter', 'Runs in which a target failed.', per((t) => t.errorsTotal));
  metric('fail2git_target_drift_corrected_total', 'counter', 'Entries re-added or removed that the ledger did not change, plus enforcement rules restored.', per((t) => t.driftCorrectedTotal));
  metric('fail2git_target_folded_entries', 'gauge', 'Desired entries not enforced separately because another enforced entry of the target covers them.', per((t) => t.folded ?? 0));
  metric('fail2git_target_left_out_entries', 'gauge', 'Desired entries a full target does not enforce (capacity, e.g. maxEntries or the cluster.fw size limit).', per((t) => t.leftOut ?? 0));
  metric('fail2git_target_held_removals', 'gauge', 'Removals held back by the removal guard.', per((t) => t.heldRemovals));
  metric('fail2git_last_run_timestamp_seconds', 'gauge', 'When the last run finished.', [['', seconds(s.finishedAt)]]);
  metric('fail2git_last_success_timestamp_seconds', 'gauge', 'When a run last succeeded completely.', [['', seconds(s.lastSuccessAt)]]);
  metric('fail2git_run_duration_seconds', 'gauge', 'Duration of the last run.', [['', s.durationSeconds]]);
  metric('fail2git_run_ok', 'gauge', '1 when the last run succeeded completely.', [['', s.ok ? 1 : 0]]);
  metric('fail2git_remote_reachable', 'gauge', '1 when the last run reached the git remote.', [['', s.remote.reachable ? 1 : 0]]);
  metric('fail2git_tip_valid', 'gauge', '1 when the remote tip is the enforced commit.', [['', s.commit.tipProblems.length === 0 ? 1 : 0]]);
  metric('fail2git_runs_total', 'counter', 'Reconcile runs.', [['', s.runsTotal]]);
  return lines.join('\n') + '\n';
}

/** A Prometheus label value: backslash, newline and double quote escaped. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

