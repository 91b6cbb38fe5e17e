/**
 * Hook records: what the shipped fail2ban action line writes into the spool itself, with shell
 * built-ins and one `sync` (hooks/fail2ban/fail2git.conf), so a ban costs fail2ban's thread
 * about what its own `ipset add` costs — no node start-up on that path.
 * hooks/fail2ban/fail2git.py, the in-process action, writes the very same records inside
 * fail2ban-server (under a hidden temp name, renamed once fsynced); test/hooks/fail2ban-parity
 * keeps the two byte-identical.
 *
 * A record is `spool/<32 hex>.f2b`, the name from the kernel's random UUID, holding exactly
 *
 *     fail2git-hook 1
 *     op ban|unban|prolong
 *     jail <name>
 *     bantime <bantime>
 *     time <time>
 *     restored <restored>
 *     bancount <bancount>
 *     failures <failures>
 *     ip <ip>
 *     end
 *
 * with fail2ban's tag values as they came (never evaluated by the shell: see docs/fail2ban.md).
 * The action line fsyncs the file and the spool directory (`sync FILE DIR`) before it returns.
 * Everything the node hook checks happens here, at flush time, with the same code
 * (hooks/fail2ban-commit.ts: parseHookArgs, decide), the record's mtime standing for the
 * moment of the hook: address parsing, special addresses, allowlist and prefix limits,
 * natural-expiry unbans, the `--time` skew bound; TTL caps and escalation when applied
 * (hooks/operations.ts). A record that fails is refused: a refused operation in
 * `spool/refused/` (with the record's text), one log line, the spool metrics; never committed.
 *
 * Parsing is strict: those ten lines in that order, nothing more. A record without its `end`
 * line is still being written (left alone), or, after RECORD_INCOMPLETE_MS, the remains of a
 * hook that died mid-write (refused).
 */
import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../controller/lib/errors.js';
import { decide, parseHookArgs, type HookAction } from './fail2ban-commit.js';
import type { Guard } from './guard-cache.js';
import type { Operation } from './operations.js';
import { recordRefused, spoolReadError } from './spool.js';

/** A record's file name: the 32 hex digits of a random UUID. */
export const RECORD_FILE = /^([0-9a-f]{32})\.f2b$/;
const KEYS = ['fail2git-hook', 'op', 'jail', 'bantime', 'time', 'restored', 'bancount', 'failures', 'ip'] as const;
/** No record the action line writes comes near this; anything bigger is not ours. */
const MAX_RECORD_BYTES = 4096;
/** A record still without its `end` line this long after it was written will never get one. */
export const RECORD_INCOMPLETE_MS = 5 * 60_000;

export interface HookRecord {
  action: HookAction;
  values: { jail: string; bantime: string; time: string; restored: string; bancount: string; failures: string; ip: string };
}

export type RecordParse = { kind: 'record'; record: HookRecord } | { kind: 'incomplete' } | { kind: 'malformed'; why: string };

/** Pure: a record's text, strictly. */
export function parseRecord(text: string): RecordParse {
  if (text.length > MAX_RECORD_BYTES) return { kind: 'malformed', why: `larger than ${MAX_RECORD_BYTES} bytes` };
  if (!text.endsWith('\nend\n')) {
    // Still being written (the action line writes it line by line), or cut short.
    return /\nend\n./s.test(text) ? { kind: 'malformed', why: 'text after the end line' } : { kind: 'incomplete' };
  }
  const lines = text.slice(0, -'\nend\n'.length).split('\n');
  if (lines.length !== KEYS.length) return { kind: 'malformed', why: `${lines.length + 1} lines, expected ${KEYS.length + 1}` };
  const v: Record<string, string> = {};
  for (let i = 0; i < KEYS.length; i++) {
    const key = KEYS[i]!;
    const line = lines[i]!;
    if (!line.startsWith(`${key} `)) return { kind: 'malformed', why: `line ${i + 1} is not "${key} …"` };
    v[key] = line.slice(key.length + 1);
  }
  if (v['fail2git-hook'] !== '1') return { kind: 'malformed', why: `record version ${JSON.stringify(v['fail2git-hook'])} is not 1` };
  const op = v.op;
  if (op !== 'ban' && op !== 'unban' && op !== 'prolong') return { kind: 'malformed', why: `op ${JSON.stringify(op)} is not ban, unban or prolong` };
  return {
    kind: 'record',
    record: { action: op, values: { jail: v.jail!, bantime: v.bantime!, time: v.time!, restored: v.restored!, bancount: v.bancount!, failures: v.failures!, ip: v.ip! } },
  };
}

const RANK: Record<HookAction, number> = { ban: 0, prolong: 1, unban: 2 };

/**
 * Pure: the operation id of a record. Deterministic (the same record always gives the same id,
 * so a record read twice is still applied once), sorting by creation time; within one clock
 * tick a ban sorts before a prolong before an unban of the same moment.
 */
export function recordOpId(hex: string, action: HookAction, host: string, mtimeMs: number): string {
  return `${String(Math.floor(mtimeMs)).padStart(13, '0')}-${host}-r${RANK[action]}${hex}`;
}

/** Pure: what a record means, with the hook's own checks; `mtimeMs` is when the hook ran. */
export type RecordDecision =
  | { kind: 'spool'; op: Operation }
  | { kind: 'skip'; why: string }
  | { kind: 'refuse'; why: string }
  | { kind: 'incomplete' };

export function decideRecord(text: string, hex: string, host: string, guard: Guard, mtimeMs: number): RecordDecision {
  const parsed = parseRecord(text);
  if (parsed.kind === 'incomplete') {
    return Date.now() - mtimeMs > RECORD_INCOMPLETE_MS ? { kind: 'refuse', why: 'incomplete hook record (the action died while writing it)' } : parsed;
  }
  if (parsed.kind === 'malformed') return { kind: 'refuse', why: `malformed hook record: ${parsed.why}` };
  const { action, values } = parsed.record;
  try {
    const args = parseHookArgs(action, values, mtimeMs);
    const d = decide(args, guard, host, mtimeMs, recordOpId(hex, action, host, mtimeMs));
    return d.kind === 'refuse' ? { kind: 'refuse', why: d.why } : d;
  } catch (err) {
    return { kind: 'refuse', why: `refusing ${action} ${JSON.stringify(values.ip.slice(0, 60))}: ${errorMessage(err)}` };
  }
}

export interface RecordContext {
  host: string;
  guard: () => Guard;
  /** called once per refused record (the flusher logs it and counts it) */
  onRefused?: (file: string, why: string) => void;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Keeps a refused record for people to read (`fail2git pending`, the spool metrics) as a
 * refused operation in `spool/refused/`, the record's text beside its reason, and drops it
 * from the spool.
 */
function refuseRecord(spoolDir: string, hex: string, text: string, mtimeMs: number, why: string, ctx: RecordContext): void {
  const parsed = parseRecord(text);
  const values = parsed.kind === 'record' ? parsed.record.values : undefined;
  const action: HookAction = parsed.kind === 'record' ? parsed.record.action : 'ban';
  const op: Operation & { record: string } = {
    v: 1, id: recordOpId(hex, action, ctx.host, mtimeMs), op: action, cidr: (values?.ip ?? '').slice(0, 100),
    at: new Date(mtimeMs).toISOString(), by: ctx.host, host: ctx.host, record: text.slice(0, MAX_RECORD_BYTES),
  };
  if (values?.jail) op.jail = values.jail.slice(0, 64);
  recordRefused(spoolDir, op, why);
  ctx.onRefused?.(`${hex}.f2b`, why);
}

/**
 * Complete records already read, by spool and file name: a record is written once under a
 * random name and never changed, so a flusher that looks at the spool before every round of
 * a storm reads each one once, not once per round. (What it means is decided again each time:
 * the allowlist may have changed.) Names no longer in the spool are dropped.
 */
const seenRecords = new Map<string, Map<string, { text: string; mtimeMs: number }>>();

/**
 * The operations the records in the spool stand for, oldest first. Skipped ones (a restored
 * ban, an unban at natural expiry) are deleted; refused ones are kept in `spool/refused/` and
 * reported; incomplete ones are left for the next look.
 */
export function readRecords(spoolDir: string, ctx: RecordContext): Operation[] {
  let names: string[];
  try {
    names = readdirSync(spoolDir).filter((n) => RECORD_FILE.test(n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw spoolReadError(spoolDir, err);
  }
  const before = seenRecords.get(spoolDir);
  const seen = new Map<string, { text: string; mtimeMs: number }>();
  if (names.length === 0) {
    seenRecords.delete(spoolDir);
    return [];
  }
  seenRecords.set(spoolDir, seen);
  const guard = ctx.guard();
  const ops: Operation[] = [];
  for (const name of names) {
    const path = join(spoolDir, name);
    let text: string;
    let mtimeMs: number;
    const known = before?.get(name);
    if (known) {
      ({ text, mtimeMs } = known);
    } else {
      try {
        mtimeMs = Number(statSync(path, { bigint: true }).mtimeNs / 1_000_000n);
        text = readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // delivered meanwhile
        throw err;
      }
    }
    if (text.endsWith('\nend\n')) seen.set(name, { text, mtimeMs });
    const d = decideRecord(text, RECORD_FILE.exec(name)![1]!, ctx.host, guard, mtimeMs);
    if (d.kind === 'incomplete') continue;
    if (d.kind === 'spool') ops.push(d.op);
    else if (d.kind === 'skip') unlinkQuiet(path);
    else refuseRecord(spoolDir, RECORD_FILE.exec(name)![1]!, text, mtimeMs, d.why, ctx);
  }
  return ops;
}
