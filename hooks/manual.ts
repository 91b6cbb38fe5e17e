/**
 * `fail2git ban` / `unban` for people: the same spool and flusher as the hook, run
 * synchronously so the person sees the pushed commit (or why it is still queued).
 */
import { userInfo } from 'node:os';
import { parseCidr, CidrError } from '../controller/net/cidr.js';
import { spoolPath, type HostConfig } from '../controller/config/host-config.js';
import { formatTime, parseDuration, parseTime } from '../controller/lib/duration.js';
import { InputError, errorMessage } from '../controller/lib/errors.js';
import { unprintableIn } from '../controller/lib/printable.js';
import { readGuard } from './guard-cache.js';
import { flushSpool } from './flush.js';
import { refusal, type Operation } from './operations.js';
import { describe } from './message.js';
import { newOpId, spoolOperation } from './spool.js';

export interface ManualRequest {
  op: 'ban' | 'unban';
  cidr: string;
  ttl?: string;
  until?: string;
  permanent?: boolean;
  reason?: string;
  by?: string;
}

export interface ManualOutcome {
  ok: boolean;
  line: string;
  commit?: string;
}

/** The person running the command (sudo keeps the real one in SUDO_USER). */
export function whoAmI(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.SUDO_USER || env.USER || userInfo().username;
  return /^[A-Za-z0-9._@-]{1,64}$/.test(name) ? name : 'unknown';
}

function canonical(text: string): string {
  try {
    return parseCidr(text).key;
  } catch (err) {
    if (err instanceof CidrError) throw new InputError('E_CIDR', err.message);
    throw err;
  }
}

/** Pure: the operation a person asked for. `now` in ms. */
export function manualOperation(req: ManualRequest, host: string, now: number): Operation {
  if (req.by !== undefined && (req.by.trim() === '' || unprintableIn(req.by))) throw new InputError('E_BY', '--by must be a non-empty name of printable text');
  const op: Operation = { v: 1, id: newOpId(host, now), op: req.op, cidr: canonical(req.cidr), at: formatTime(new Date(now)), by: req.by ?? whoAmI(), host };
  if (req.reason !== undefined) {
    // A control character would make the ledger invalid for every host (validate refuses it).
    if (req.reason.trim() === '' || unprintableIn(req.reason)) throw new InputError('E_REASON', '--reason must be one non-empty line of printable text');
    op.reason = req.reason;
  }
  if (req.op === 'unban') return op;
  const chosen = [req.ttl !== undefined, req.until !== undefined, req.permanent === true].filter(Boolean).length;
  if (chosen > 1) throw new InputError('E_TTL', 'give at most one of --ttl, --until, --permanent');
  if (req.permanent) op.ttl = -1;
  if (req.ttl !== undefined) {
    const ms = parseDuration(req.ttl);
    if (ms < 1000) throw new InputError('E_TTL', `--ttl ${req.ttl} is shorter than a second`);
    op.ttl = Math.round(ms / 1000);
  }
  if (req.until !== undefined) {
    const until = parseTime(req.until);
    if (until.getTime() <= now) throw new InputError('E_TTL', `--until ${req.until} is not in the future`);
    op.until = formatTime(until);
  }
  return op;
}

/** Spools the request, flushes synchronously, and says what happened in one line. */
export async function runManual(req: ManualRequest, cfg: HostConfig, now = Date.now()): Promise<ManualOutcome> {
  const op = manualOperation(req, cfg.host, now);
  if (op.op === 'ban') {
    const guard = readGuard(cfg.stateDir);
    const why = refusal(parseCidr(op.cidr), guard.allow, guard.broadestPrefix);
    if (why) return { ok: false, line: `refusing to ban ${op.cidr}: ${why}` };
  }
  spoolOperation(spoolPath(cfg), op);
  let result;
  try {
    result = await flushSpool(cfg, { wait: true });
  } catch (err) {
    return { ok: false, line: `${op.op} ${op.cidr} queued, not yet pushed: ${errorMessage(err)} (run \`fail2git flush\` later)` };
  }
  const mine = result.results.find((r) => r.op.id === op.id);
  if (!mine) return { ok: !result.busy, line: result.busy ? `${op.op} ${op.cidr} queued: another flusher is busy` : `${op.op} ${op.cidr} delivered by a concurrent flush` };
  if (mine.outcome === 'refused') return { ok: false, line: `refused ${op.op} ${mine.cidr}: ${mine.detail ?? ''}` };
  const commit = result.commitOf[op.id];
  const what =
    mine.outcome === 'absent' ? `${mine.cidr} was not banned; nothing to do`
    : mine.outcome === 'stale' ? `${mine.cidr}: already expired; nothing to do`
    : mine.outcome === 'kept' ? `${mine.cidr} not unbanned: ${mine.detail ?? 'banned again since'}`
    : mine.outcome === 'superseded' ? `${mine.cidr} not banned: ${mine.detail ?? 'unbanned since'}`
    : describe(mine);
  const pushed = commit && !['absent', 'stale', 'kept', 'superseded'].includes(mine.outcome);
  return { ok: true, line: pushed ? `${what}: pushed ${commit.slice(0, 12)}` : what, ...(commit ? { commit } : {}) };
}

export interface BatchOutcome {
  /** every operation delivered or refused by the guard; false when some are still queued */
  ok: boolean;
  /** one line per refusal, then what was delivered */
  lines: string[];
  /** the commits that carried them (one, unless another writer raced the push) */
  commits: string[];
  delivered: number;
  refused: number;
  /** no-ops: already absent, already expired, kept, superseded */
  unchanged: number;
}

/**
 * Bulk `ban --from-file` / `unban --jail …`: every operation is spooled, then one flush
 * delivers them together, in one commit (the flusher applies all pending operations per
 * round). Bans the guard refuses are reported and never spooled; the rest still go.
 */
export async function runManualBatch(reqs: readonly ManualRequest[], cfg: HostConfig, now = Date.now()): Promise<BatchOutcome> {
  const out: BatchOutcome = { ok: true, lines: [], commits: [], delivered: 0, refused: 0, unchanged: 0 };
  const ops = reqs.map((r) => manualOperation(r, cfg.host, now));
  const guard = ops.some((o) => o.op === 'ban') ? readGuard(cfg.stateDir) : undefined;
  const spooled: Operation[] = [];
  for (const op of ops) {
    const why = guard && op.op === 'ban' ? refusal(parseCidr(op.cidr), guard.allow, guard.broadestPrefix) : undefined;
    if (why) {
      out.refused++;
      out.lines.push(`refusing to ban ${op.cidr}: ${why}`);
      continue;
    }
    spooled.push(op);
  }
  if (spooled.length === 0) return out;
  for (const op of spooled) spoolOperation(spoolPath(cfg), op);
  let result;
  try {
    result = await flushSpool(cfg, { wait: true });
  } catch (err) {
    return { ...out, ok: false, lines: [...out.lines, `${spooled.length} operations queued, not yet pushed: ${errorMessage(err)} (run \`fail2git flush\` later)`] };
  }
  const mine = new Map(result.results.map((r) => [r.op.id, r]));
  for (const op of spooled) {
    const r = mine.get(op.id);
    if (!r) continue;
    if (r.outcome === 'refused') {
      out.refused++;
      out.lines.push(`refused ${op.op} ${r.cidr}: ${r.detail ?? ''}`);
    } else if (['absent', 'stale', 'kept', 'superseded'].includes(r.outcome)) out.unchanged++;
    else out.delivered++;
    const c = result.commitOf[op.id];
    if (c && !out.commits.includes(c)) out.commits.push(c);
  }
  const missing = spooled.filter((o) => !mine.has(o.id)).length;
  if (missing > 0) {
    out.ok = !result.busy;
    out.lines.push(result.busy ? `${missing} operations queued: another flusher is busy and delivers them` : `${missing} operations delivered by a concurrent flush`);
  }
  return out;
}
