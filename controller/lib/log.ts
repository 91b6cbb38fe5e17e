/**
 * One-line JSON logs, one line per event, to stderr: `{"ts":…,"level":…,"event":…,…}`.
 * Machines read these (journald, log shippers); people read the command's stdout summary.
 * Every value passes through redact() so a URL with credentials never reaches a log.
 */
import { redact } from './errors.js';

export type Level = 'info' | 'warn' | 'error';

/** Where every part of the controller reports events; drivers get one through TargetDeps. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export interface LogSink {
  write(line: string): unknown;
}

export interface JsonLoggerOptions {
  sink?: LogSink;
  /** fields added to every line (e.g. host, runId) */
  base?: Record<string, unknown>;
  now?: () => Date;
  /** drop `info` lines (errors and warnings still go out) */
  quiet?: boolean;
}

/** A Logger that writes one JSON object per line. */
export function createJsonLogger(opts: JsonLoggerOptions = {}): Logger {
  const sink = opts.sink ?? process.stderr;
  const now = opts.now ?? (() => new Date());
  const emit = (level: Level, event: string, fields: Record<string, unknown> = {}): void => {
    if (level === 'info' && opts.quiet) return;
    const line = { ts: now().toISOString(), level, event, ...opts.base, ...fields };
    sink.write(redact(JSON.stringify(line, jsonSafe)) + '\n');
  };
  return {
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
  };
}

/** A Logger that keeps events in memory (tests, and callers that summarise afterwards). */
export function createMemoryLogger(): Logger & { lines: { level: Level; event: string; fields: Record<string, unknown> }[] } {
  const lines: { level: Level; event: string; fields: Record<string, unknown> }[] = [];
  const push = (level: Level) => (event: string, fields: Record<string, unknown> = {}) => {
    lines.push({ level, event, fields });
  };
  return { lines, info: push('info'), warn: push('warn'), error: push('error') };
}

// Errors serialise to `{}` by default; a log line should say what failed.
function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { message: value.message.split('\n')[0], code: (value as { code?: unknown }).code };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * Passes info lines through; a warning or error identical to one already logged within
 * `windowMs` is dropped. A watch loop ticking every second against an unreachable remote
 * or a broken target then says so once every few minutes, not 86,400 times a day.
 */
export function createRepeatSuppressingLogger(inner: Logger, windowMs: number, now: () => number = Date.now): Logger {
  const last = new Map<string, number>();
  const pass = (level: 'warn' | 'error') => (event: string, fields: Record<string, unknown> = {}) => {
    const key = `${level} ${event} ${JSON.stringify(fields, jsonSafe)}`;
    const t = now();
    const seen = last.get(key);
    if (seen !== undefined && t - seen < windowMs) return;
    if (last.size > 1000) last.clear();
    last.set(key, t);
    inner[level](event, fields);
  };
  return { info: (event, fields) => inner.info(event, fields), warn: pass('warn'), error: pass('error') };
}
