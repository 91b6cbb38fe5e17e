/**
 * The life of an address: trailer operations and hand edits, replayed in commit order into
 * events a person reads top to bottom. Pure: every input comes from history.ts.
 */
import { formatDuration, formatTime } from '../lib/duration.js';
import type { Cidr } from '../net/cidr.js';
import type { BanEntry } from '../ledger/types.js';
import type { LoggedCommit } from './log.js';
import type { TrailerOp } from '../git/trailers.js';
import type { HandEdit } from './hand-edits.js';
import type { CidrCache, Relation } from './entries.js';

export type AuditAction = 'banned' | 'extended' | 'unbanned' | 'expired' | 'edited' | string;

/** Who made a change happen: fail2ban on a host, a person (CLI), gc, or a hand edit in git. */
export type Via = 'fail2ban' | 'manual' | 'gc' | 'hand-edit';

export interface AuditEvent {
  /** RFC 3339 UTC: when the commit landed */
  time: string;
  action: AuditAction;
  cidr: string;
  /** exact, or the ban covers the audited address, or lies within the audited range */
  relation: Relation;
  actor: string;
  via: Via;
  commit: string;
  jail?: string;
  /** RFC 3339 UTC, or null for permanent; absent when unknown */
  expires?: string | null;
  ttl?: string;
  count?: number;
  reason?: string;
  detail?: string;
}

/** `commit + ' ' + cidr` → the entry as it stood right after that commit (from history.ts). */
export type EntryLookup = Map<string, BanEntry>;

export const lookupKey = (commit: string, cidr: string): string => `${commit} ${cidr}`;

const GC_OPS = new Set(['expire', 'gc', 'gc-expire']);
const BAN_OPS = new Set(['ban', 'prolong', 'extend']);

/** Replays commits (oldest first) into the events that concern `query`. */
export function buildTimeline(
  commits: readonly LoggedCommit[],
  query: Cidr,
  handEdits: ReadonlyMap<string, readonly HandEdit[]>,
  lookup: EntryLookup,
  cache: CidrCache,
): AuditEvent[] {
  const live = new Map<string, BanEntry>(); // what the ledger held, per CIDR, as replayed
  const events: AuditEvent[] = [];
  for (const c of commits) {
    if (c.ops.length > 0) {
      for (const op of c.ops) {
        const hit = op.fields.cidr === undefined ? null : cache.related(op.fields.cidr, query);
        if (!hit) continue;
        events.push(opEvent(c, op, hit.cidr.key, hit.relation, live, lookup.get(lookupKey(c.commit, hit.cidr.key))));
      }
    }
    for (const edit of handEdits.get(c.commit) ?? []) events.push(editEvent(c, edit, live));
  }
  return events;
}

function opEvent(
  c: LoggedCommit,
  op: TrailerOp,
  cidr: string,
  relation: Relation,
  live: Map<string, BanEntry>,
  after: BanEntry | undefined,
): AuditEvent {
  const f = op.fields;
  const gc = GC_OPS.has(op.op);
  const fromFail2ban = !gc && f.jail !== undefined && f.jail !== '' && f.jail !== 'manual';
  const event: AuditEvent = {
    time: formatTime(new Date(c.time)),
    action: op.op,
    cidr,
    relation,
    actor: gc ? (f.host ?? c.author) : fromFail2ban ? (f.host ?? c.author) : (f.by ?? f.host ?? c.author),
    via: gc ? 'gc' : fromFail2ban ? 'fail2ban' : 'manual',
    commit: c.commit,
  };
  if (fromFail2ban) event.jail = f.jail!;
  if (f.reason) event.reason = f.reason;
  const before = live.get(cidr);
  if (BAN_OPS.has(op.op)) {
    const entry = after ?? entryFromTrailers(cidr, f);
    const stillLive = before !== undefined && (before.expires === undefined || Date.parse(before.expires) > c.time);
    event.action = stillLive || op.op !== 'ban' ? 'extended' : 'banned';
    describeEntry(event, entry, c.time);
    live.set(cidr, entry);
  } else if (gc) {
    event.action = 'expired';
    event.detail = 'collected by gc';
    if (before?.expires) event.expires = before.expires;
    live.delete(cidr);
  } else {
    if (op.op === 'unban') event.action = 'unbanned';
    live.delete(cidr);
  }
  return event;
}

function editEvent(c: LoggedCommit, edit: HandEdit, live: Map<string, BanEntry>): AuditEvent {
  const event: AuditEvent = {
    time: formatTime(new Date(c.time)),
    action: edit.before && edit.after ? 'edited' : edit.after ? 'banned' : 'unbanned',
    cidr: edit.cidr,
    relation: edit.relation,
    actor: c.email ? `${c.author} <${c.email}>` : c.author,
    via: 'hand-edit',
    commit: c.commit,
  };
  if (edit.after && edit.before) {
    // An edit says what changed; its TTL would be measured from someone else's `at`.
    event.detail = changeSummary(edit.before, edit.after);
    event.expires = edit.after.expires ?? null;
    live.set(edit.cidr, edit.after);
  } else if (edit.after) {
    describeEntry(event, edit.after, c.time);
    live.set(edit.cidr, edit.after);
  } else {
    live.delete(edit.cidr);
  }
  return event;
}

function entryFromTrailers(cidr: string, f: Record<string, string>): BanEntry {
  const entry: BanEntry = { cidr };
  if (f.expires && f.expires !== 'never' && f.expires !== 'permanent') entry.expires = f.expires;
  if (f.at) entry.at = f.at;
  if (f.count && /^\d+$/.test(f.count)) entry.count = Number(f.count);
  return entry;
}

function describeEntry(event: AuditEvent, entry: BanEntry, commitTime: number): void {
  event.expires = entry.expires ?? null;
  if (entry.expires) {
    const from = entry.at ? Date.parse(entry.at) : commitTime;
    const ttl = Date.parse(entry.expires) - (Number.isNaN(from) ? commitTime : from);
    if (ttl > 0) event.ttl = formatDuration(ttl);
  } else {
    event.ttl = 'permanent';
  }
  if (entry.count !== undefined) event.count = entry.count;
  if (entry.reason && !event.reason) event.reason = entry.reason;
  if (entry.jail && !event.jail && event.via !== 'hand-edit') event.jail = entry.jail;
}

function changeSummary(before: BanEntry, after: BanEntry): string {
  const parts: string[] = [];
  for (const k of ['expires', 'by', 'jail', 'reason', 'count'] as const) {
    if (before[k] !== after[k]) parts.push(`${k} ${before[k] ?? '(none)'} → ${after[k] ?? '(none)'}`);
  }
  return parts.join(', ');
}
