/**
 * The last step of every run, successful or not: turn what the run learned into
 * status.json, the Prometheus textfile and a log line. Counters (errors, drift) carry
 * forward from the previous status. Also keeps the desired keys of the run so the next
 * run can tell drift (someone edited the firewall) from ledger changes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { redact, redactDeep } from '../lib/redact.js';
import { formatTime } from '../lib/duration.js';
import type { RunContext } from './context.js';
import type { TargetRun } from './target.js';
import { writeFileAtomicSync } from '../lib/files.js';
import { renderMetrics, writeStatus, type RunReason, type RunStatus, type TargetStatus } from '../status/run-status.js';

const DESIRED_KEYS = 'desired-keys.txt';

/**
 * A name for a desired set without hashing 100k keys: for one commit and one set of
 * protected addresses, the set at any moment is "the entries not yet expired", and those
 * sets shrink as time passes, so commit + protection + size identify it exactly.
 */
export function desiredIdentity(rev: string, protectedKey: string, size: number): string {
  return `${rev.slice(0, 16)}-${createHash('sha256').update(protectedKey).digest('hex').slice(0, 12)}-${size}`;
}

/** Which of `probe` the previous run desired, when the file holds the set its status names. */
export function readPreviousDesired(ctx: RunContext, probe: ReadonlySet<string>): ReadonlySet<string> | undefined {
  const digest = ctx.previous?.desired.digest;
  if (!digest) return undefined;
  try {
    return previousKeys(readFileSync(join(ctx.cfg.stateDir, DESIRED_KEYS), 'utf8'), digest, probe);
  } catch {
    return undefined;
  }
}

/**
 * Which of `probe` the desired-keys text (`# digest` line, then one key per line) lists,
 * or undefined when it is for another digest. Pure. A plan's few keys are looked up in the
 * text; only a large probe splits the 100k lines.
 */
export function previousKeys(text: string, digest: string, probe: ReadonlySet<string>): ReadonlySet<string> | undefined {
  const nl = text.indexOf('\n');
  if ((nl === -1 ? text : text.slice(0, nl)) !== `# ${digest}`) return undefined;
  if (nl === -1) return new Set();
  if (probe.size > 64) return new Set(text.slice(nl + 1).split('\n').filter((k) => probe.has(k)));
  const found = new Set<string>();
  for (const k of probe) if (hasLine(text, k, nl + 1)) found.add(k);
  return found;
}

/** Whether `key` is a whole line of `text` at or after `from` (the start of a line). */
function hasLine(text: string, key: string, from: number): boolean {
  for (let i = text.indexOf(key, from); i !== -1; i = text.indexOf(key, i + 1)) {
    const end = i + key.length;
    if ((i === from || text.charCodeAt(i - 1) === 0x0a) && (end === text.length || text.charCodeAt(end) === 0x0a)) return true;
  }
  return false;
}

export function recordRun(ctx: RunContext): RunStatus {
  const finished = ctx.deps.now();
  const digest = ctx.ledger ? ctx.desiredId : ctx.previous?.desired.digest;
  const prev = ctx.previous;
  const { reason, message } = summarize(ctx);
  const ok = ['UpToDate', 'Applied', 'DryRun'].includes(reason) && ctx.targetRuns.every((t) => !t.error);
  // Secrets never leave the host: what is printed, written and published is redacted here.
  const status: RunStatus = redactDeep({
    version: 1,
    host: ctx.cfg.host,
    startedAt: ctx.startedAt.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - ctx.startedAt.getTime()) / 1000,
    reason,
    message,
    ok,
    dryRun: ctx.opts.dryRun === true,
    remote: { url: redact(ctx.cfg.remote), reachable: !ctx.sync?.error, ...(ctx.sync?.tip && { tip: ctx.sync.tip }), ...(ctx.sync?.error && { error: ctx.sync.error.message }) },
    commit: { ...(ctx.applied && { applied: ctx.applied }), ...(ctx.sync?.tip && { tip: ctx.sync.tip }), tipProblems: ctx.tipProblems.slice(0, 20), ...(ctx.tipProblems.length > 0 && ctx.tipCheckedAt && { tipCheckedAt: ctx.tipCheckedAt }) },
    desired: { entries: ctx.desired.length, skipped: ctx.skipped, ...(digest && { digest }), ...(ctx.nextExpiry && { nextExpiry: formatTime(ctx.nextExpiry) }) },
    targets: targetStatuses(ctx, finished),
    ...guardStatus(ctx),
    runsTotal: (prev?.runsTotal ?? 0) + 1,
  } satisfies RunStatus);
  const lastSuccess = ok && !status.dryRun ? status.finishedAt : prev?.lastSuccessAt;
  if (lastSuccess) status.lastSuccessAt = lastSuccess;
  // Dry runs describe; they do not become the state the next run is compared with.
  if (!status.dryRun) persist(ctx, status, digest !== undefined && digest !== prev?.desired.digest);
  // A watch loop at 1 s would log 86,400 identical lines a day: quiet runs stay quiet.
  const eventful = !ok || reason !== prev?.reason || ctx.targetRuns.some((t) => t.added + t.removed > 0);
  if (!ctx.opts.quiet || eventful) {
    ctx.deps.log[ok ? 'info' : 'error']('run', {
      reason, ok, commit: ctx.applied ?? null, desired: ctx.desired.length, seconds: status.durationSeconds,
      targets: ctx.targetRuns.length, failed: ctx.targetRuns.filter((t) => t.error).length,
    });
  }
  return status;
}

function guardStatus(ctx: RunContext): Pick<RunStatus, 'guard'> {
  const g = ctx.guard;
  return g?.baseline && g.loosened.length > 0 ? { guard: { limitsOf: g.baseline.rev, kept: g.loosened, forced: g.forced } } : {};
}

function persist(ctx: RunContext, status: RunStatus, keysChanged: boolean): void {
  const { stateDir, metricsFile } = ctx.cfg;
  if (keysChanged && ctx.ledger) {
    writeFileAtomicSync(join(stateDir, DESIRED_KEYS), `# ${status.desired.digest}\n` + ctx.desired.map((d) => d.cidr).join('\n'), { mkdir: true });
  }
  writeStatus(stateDir, status);
  try {
    writeFileAtomicSync(metricsFile, redact(renderMetrics(status)), { mkdir: true });
  } catch (err) {
    ctx.deps.log.warn('metrics.write-failed', { path: metricsFile, error: (err as Error).message });
  }
}

function targetStatuses(ctx: RunContext, finished: Date): Record<string, TargetStatus> {
  const out: Record<string, TargetStatus> = {};
  for (const t of ctx.targetRuns) {
    const prev = ctx.previous?.targets[t.name];
    // a rules/chain repair is drift too: someone edited what enforces the entries
    const driftNow = ctx.opts.dryRun ? 0 : t.drift.readded + t.drift.removed + (t.repair ? 1 : 0);
    const s: TargetStatus = {
      driver: t.driver, reason: t.reason, entries: t.entries, added: t.added, removed: t.removed, heldRemovals: t.held.length,
      folded: t.folded, leftOut: t.leftOut, ...(t.capacity !== undefined && { capacity: t.capacity }),
      errorsTotal: (prev?.errorsTotal ?? 0) + (t.error ? 1 : 0),
      driftCorrectedTotal: (prev?.driftCorrectedTotal ?? 0) + driftNow,
      driftLast: t.drift,
    };
    if (t.error) {
      s.error = t.error;
      s.lastError = { at: finished.toISOString(), message: t.error };
    } else if (prev?.lastError) s.lastError = prev.lastError;
    const success = !t.error && !ctx.opts.dryRun ? finished.toISOString() : prev?.lastSuccessAt;
    if (success) s.lastSuccessAt = success;
    out[t.name] = s;
  }
  return out;
}

/** The run's reason and one line for people; the most serious condition wins. */
function summarize(ctx: RunContext): { reason: RunReason; message: string } {
  const failed = ctx.targetRuns.filter((t: TargetRun) => t.error);
  const short = (rev?: string): string => rev?.slice(0, 12) ?? 'none';
  if (ctx.fatal) return { reason: 'TargetsFailed', message: `run failed: ${ctx.fatal}` };
  if (!ctx.ledger) {
    const why = ctx.tipProblems[0] ?? ctx.sync?.error?.message ?? 'no commit fetched yet';
    return { reason: 'NoLedger', message: `nothing enforced: no good ledger commit (${why})` };
  }
  if (ctx.tipProblems.length > 0) {
    return { reason: 'InvalidLedger', message: `tip ${short(ctx.sync?.tip)} is invalid (${ctx.tipProblems[0]}); enforcing last good ${short(ctx.applied)}` };
  }
  if (ctx.sync?.error) return { reason: 'PullFailed', message: `${ctx.sync.error.message}; enforcing last fetched ${short(ctx.applied)}` };
  if (failed.length > 0) return { reason: 'TargetsFailed', message: failed.map((t) => `${t.name}: ${t.error}`).join('; ') };
  const changed = ctx.targetRuns.filter((t) => t.plan.add.length + t.plan.remove.length > 0);
  if (ctx.opts.dryRun && changed.length > 0) return { reason: 'DryRun', message: `${changed.length} target(s) would change (dry run)` };
  if (changed.length > 0) return { reason: 'Applied', message: `applied ${short(ctx.applied)} to ${changed.length} target(s)` };
  return { reason: 'UpToDate', message: `up to date at ${short(ctx.applied)}` };
}
