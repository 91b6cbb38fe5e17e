/**
 * The local spool: one JSON file per pending operation in `stateDir/spool/`.
 *
 * Durability (DESIGN rule 1): an operation is written to a temp file, fsynced, renamed into
 * place and the directory fsynced before the hook returns, so a crash or power loss after
 * the hook exits cannot lose it and a reader never sees half a file. Files are deleted only
 * after the push containing them succeeded (see hooks/flush.ts).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDirSync, writeFileAtomicSync } from '../controller/lib/files.js';
import { TransientError } from '../controller/lib/errors.js';
import type { Operation } from './operations.js';

const OP_FILE = /^[0-9]{13}-[A-Za-z0-9._-]+\.json$/;
/** An operation id made from a hook record (hooks/record.ts): creation ms, host, `r`, a rank, the record's hex. */
const RECORD_ID = /-r[0-2]([0-9a-f]{32})$/;
/** A hook record's file (hooks/record.ts). */
const RECORD_FILE = /^[0-9a-f]{32}\.f2b$/;

/** The spool file an operation lives in: `<id>.json`, or the hook record it was read from. */
export function opFileName(id: string): string {
  const m = RECORD_ID.exec(id);
  return m ? `${m[1]}.f2b` : `${id}.json`;
}

/**
 * A new operation id: creation time first (so names sort by age), then host and a random
 * part. Uniqueness, not secrecy, is needed, so Math.random (node:crypto costs the hook
 * start-up time).
 */
export function newOpId(host: string, now = Date.now()): string {
  const rnd = Math.floor(Math.random() * 2 ** 40).toString(16).padStart(10, '0');
  return `${String(now).padStart(13, '0')}-${host}-${rnd}`;
}

/** When the operation was created (ms), from its id. */
export function opCreatedAt(id: string): number {
  return Number(id.slice(0, 13));
}

/** What an operation is about, for error lines: `ban of 203.0.113.7`. */
function what(op: Pick<Operation, 'op' | 'cidr'>): string {
  return `${op.op} of ${op.cidr}`;
}

/**
 * The one line for a spool write that failed: a full disk says so (fail2ban retries the
 * action once; the operation is not recorded), anything else names the directory and the
 * system's reason. Never a stack trace. (The atomic writer already removed its temp file.)
 */
export function spoolWriteError(dir: string, op: Pick<Operation, 'op' | 'cidr'>, err: unknown): TransientError {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new TransientError('E_SPOOL_FULL', `spool full: cannot record ${what(op)} (${dir}: ${code === 'ENOSPC' ? 'no space left on device' : 'disk quota exceeded'})`, { cause: err });
  }
  const reason = REASONS[code] ?? (code || 'write failed');
  return new TransientError('E_SPOOL_WRITE', `cannot record ${what(op)} in ${dir}: ${reason}`, { cause: err });
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system',
  ENOTDIR: 'a path component is not a directory', EEXIST: 'a file is in the way', EIO: 'input/output error',
  ENOENT: 'no such directory', ENAMETOOLONG: 'path too long', ELOOP: 'too many symbolic links',
};

/** The one line for a spool directory that cannot be made or listed (a file in its place, permissions). */
export function spoolReadError(spoolDir: string, err: unknown): TransientError {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  const why = code === 'ENOTDIR' || code === 'EEXIST' ? 'not a directory' : REASONS[code] ?? (code || 'read failed');
  return new TransientError('E_SPOOL_READ', `cannot read the spool ${spoolDir}: ${why}`, { cause: err });
}

/** Writes one operation durably; returns its file. Throws one-line TransientErrors (E_SPOOL_FULL, E_SPOOL_WRITE). */
export function spoolOperation(spoolDir: string, op: Operation): string {
  try {
    mkdirSync(spoolDir, { recursive: true, mode: 0o750 });
    writeFileAtomicSync(join(spoolDir, `${op.id}.json`), JSON.stringify(op) + '\n', { mode: 0o640, durable: true });
  } catch (err) {
    throw spoolWriteError(spoolDir, op, err);
  }
  return join(spoolDir, `${op.id}.json`);
}

/** A refused operation as kept in `spool/refused/`: the operation and why. */
export type RefusedOperation = Operation & { refused: string };

/**
 * Keeps a refused operation in `spool/refused/` with its reason (and removes it from the
 * pending spool, when it was there), so `pending` lists it and the metrics count it.
 * Best effort: a refusal that cannot be recorded is still a refusal.
 */
export function recordRefused(spoolDir: string, op: Operation, why: string): void {
  const dir = join(spoolDir, 'refused');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    writeFileAtomicSync(join(dir, `${op.id}.json`), JSON.stringify({ ...op, refused: why }) + '\n', { mode: 0o640, durable: true });
  } catch {
    // No room for the record: at least keep the operation itself out of the way.
    setAside(spoolDir, 'refused', opFileName(op.id));
    return;
  }
  try {
    unlinkSync(join(spoolDir, opFileName(op.id)));
  } catch {
    /* a hook's refusal was never spooled */
  }
}

/** Refused operations, oldest first (unreadable records are skipped). */
export function listRefused(spoolDir: string): RefusedOperation[] {
  const dir = join(spoolDir, 'refused');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => OP_FILE.test(n)).sort();
  } catch {
    return [];
  }
  const out: RefusedOperation[] = [];
  for (const name of names) {
    try {
      const v = JSON.parse(readFileSync(join(dir, name), 'utf8')) as RefusedOperation;
      if (isOperation(v)) out.push({ ...v, refused: typeof v.refused === 'string' ? v.refused : 'refused (no reason recorded)' });
    } catch {
      /* skipped */
    }
  }
  return out;
}

/** How many files sit in the spool and its set-aside folders. */
export interface SpoolCounts {
  pending: number;
  refused: number;
  bad: number;
  /** age of the oldest pending operation, seconds (0 when none) */
  oldestPendingAgeSeconds: number;
  /** when a flush last delivered everything it found (unix seconds), 0 when never */
  lastFlushSuccessSeconds: number;
}

function recordFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => RECORD_FILE.test(n));
  } catch {
    return [];
  }
}

export function spoolCounts(spoolDir: string, now: number = Date.now()): SpoolCounts {
  const names = (dir: string) => {
    try {
      return readdirSync(dir).filter((n) => OP_FILE.test(n)).sort();
    } catch {
      return [];
    }
  };
  const pending = names(spoolDir);
  let oldest = pending[0] === undefined ? now : opCreatedAt(pending[0]);
  // The action line's records (hooks/record.ts) count too; their age is their mtime.
  const records = recordFiles(spoolDir);
  for (const r of records) {
    try {
      oldest = Math.min(oldest, statSync(join(spoolDir, r)).mtimeMs);
    } catch {
      /* delivered meanwhile */
    }
  }
  return {
    pending: pending.length + records.length,
    refused: names(join(spoolDir, 'refused')).length,
    bad: names(join(spoolDir, 'bad')).length,
    oldestPendingAgeSeconds: Math.max(0, Math.floor((now - oldest) / 1000)),
    lastFlushSuccessSeconds: lastFlushSuccess(join(dirname(spoolDir), FLUSH_STATUS_FILE)),
  };
}

/** The flusher's status file beside the spool (hooks/flush.ts writes it). */
export const FLUSH_STATUS_FILE = 'flush.json';

function lastFlushSuccess(file: string): number {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as { lastSuccess?: unknown };
    const t = typeof s.lastSuccess === 'string' ? Date.parse(s.lastSuccess) : NaN;
    return Number.isFinite(t) ? Math.floor(t / 1000) : 0;
  } catch {
    return 0;
  }
}

/** The spool's Prometheus textfile, next to the reconciler's metrics file. */
export const SPOOL_METRICS_FILE = 'fail2git-spool.prom';

/** Prometheus text for the spool (every fail2ban host writes it, enforcing or not). Pure. */
export function renderSpoolMetrics(c: SpoolCounts): string {
  const gauge = (name: string, help: string, value: number) => [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`];
  return [
    ...gauge('fail2git_spool_pending', 'Operations waiting in the local spool to be pushed.', c.pending),
    ...gauge('fail2git_spool_oldest_pending_age_seconds', 'Age of the oldest operation waiting in the spool (0 when none waits).', c.oldestPendingAgeSeconds),
    ...gauge('fail2git_spool_refused', 'Operations refused (by the hook or at flush time), kept in spool/refused/.', c.refused),
    ...gauge('fail2git_spool_bad', 'Unreadable spool files set aside in spool/bad/.', c.bad),
    ...gauge('fail2git_spool_last_flush_success_timestamp_seconds', 'When a flush last delivered every pending operation to the remote (0: never).', c.lastFlushSuccessSeconds),
    '',
  ].join('\n');
}

/** Rewrites the spool metrics beside `metricsFile`; advisory, never throws. */
export function writeSpoolMetrics(spoolDir: string, metricsFile: string): void {
  try {
    writeFileAtomicSync(join(dirname(metricsFile), SPOOL_METRICS_FILE), renderSpoolMetrics(spoolCounts(spoolDir)), { mode: 0o644, mkdir: true });
  } catch {
    /* metrics are advisory */
  }
}

function isOperation(v: unknown): v is Operation {
  const o = v as Partial<Operation> | null;
  return (
    o !== null && typeof o === 'object' && o.v === 1 && typeof o.id === 'string' && typeof o.cidr === 'string' &&
    (o.op === 'ban' || o.op === 'unban' || o.op === 'prolong') && typeof o.at === 'string' && typeof o.by === 'string' &&
    typeof o.host === 'string'
  );
}

/**
 * Pending operations, oldest first. A file that is not an operation (written by hand,
 * or by a future version) is moved to `spool/bad/` so it neither blocks nor vanishes.
 */
export function listOperations(spoolDir: string): Operation[] {
  let names: string[];
  try {
    names = readdirSync(spoolDir).filter((n) => OP_FILE.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw spoolReadError(spoolDir, err);
  }
  const ops: Operation[] = [];
  for (const name of names) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(join(spoolDir, name), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // delivered meanwhile
      parsed = undefined;
    }
    if (isOperation(parsed) && `${parsed.id}.json` === name) ops.push(parsed);
    else setAside(spoolDir, 'bad', name);
  }
  return ops;
}

/** Moves a spool file into a subdirectory (`bad`, `refused`), keeping it for people to read. */
export function setAside(spoolDir: string, sub: string, name: string): void {
  mkdirSync(join(spoolDir, sub), { recursive: true, mode: 0o750 });
  try {
    renameSync(join(spoolDir, name), join(spoolDir, sub, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Deletes delivered operations and makes the deletion durable. */
export function removeOperations(spoolDir: string, ids: Iterable<string>): void {
  let any = false;
  for (const id of ids) {
    try {
      unlinkSync(join(spoolDir, opFileName(id)));
      any = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (any) fsyncDirSync(spoolDir);
}
