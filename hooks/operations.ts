/**
 * Operations: what a hook or a person asked for, and how it changes a ban list.
 *
 * Pure. An operation is recorded once in the spool and may be applied more than once
 * (a flusher killed after pushing re-applies it), so the flusher skips operations whose id
 * is already in the remote history; everything here is also an upsert/delete on a CIDR key,
 * so re-applying never creates a second line.
 */
import { cidrOverlaps, parseCidr, widen, type Cidr } from '../controller/net/cidr.js';
import { specialAddress } from '../controller/net/special.js';
import { formatTime, parseDuration, parseTime } from '../controller/lib/duration.js';
import { MAX_TTL_S, type AllowEntry, type BanEntry, type PolicySpec, type PrefixLimits } from '../controller/ledger/types.js';

export type OpKind = 'ban' | 'unban' | 'prolong';

/** One spooled request. Times are absolute (RFC 3339 UTC); never a duration relative to delivery. */
export interface Operation {
  v: 1;
  /** unique across hosts; sorts by creation time */
  id: string;
  op: OpKind;
  /** canonical CIDR as given */
  cidr: string;
  /** a single address from fail2ban: widen to the policy's banPrefix when applied */
  widen?: boolean;
  /**
   * The operation's time, by which it is applied: for a ban or prolong when the offence was
   * banned (fail2ban `<time>`) or when the person asked; for an unban when it was asked
   * (the hook's clock at fail2ban's `actionunban`, the person's command).
   */
  at: string;
  /** who: the host (hooks) or the person */
  by: string;
  /** the host that spooled it */
  host: string;
  jail?: string;
  reason?: string;
  /** seconds; -1 = permanent; absent = the policy's defaultTtl (ban, prolong) */
  ttl?: number;
  /** absolute expiry chosen by a person (`--until`); wins over ttl */
  until?: string;
  /** repeat-offender escalation from the policy applies (hook bans) */
  escalate?: boolean;
  /** fail2ban's own counters, kept for the record */
  bancount?: number;
  failures?: number;
}

/**
 * `kept`: an unban that found the entry banned at or after the unban's own time (a ban
 * another host made later, or in the same second): the ban stays, see applyUnban.
 * `superseded`: a ban (or prolong) delivered after a later unban of its address already
 * removed the entry (its host was offline): time order wins, it is not re-added.
 */
export type Outcome = 'added' | 'updated' | 'unchanged' | 'removed' | 'absent' | 'stale' | 'kept' | 'superseded' | 'refused';

export interface OpResult {
  op: Operation;
  /** the key actually written (after widening) */
  cidr: string;
  outcome: Outcome;
  /** resulting expiry; undefined = permanent (ban/prolong only) */
  expires?: string;
  /** effective TTL in seconds; -1 = permanent (ban/prolong only) */
  ttl?: number;
  count?: number;
  /** why it was refused */
  detail?: string;
}

/** What applying needs from the ledger, besides the bans themselves. */
export interface ApplyContext {
  policy: Pick<PolicySpec, 'defaultTtl' | 'broadestPrefix' | 'banPrefix' | 'escalation'>;
  allow: readonly AllowEntry[];
  now: Date;
  /**
   * Canonical key → the time (`at`) of the latest unban that removed it, from the recent
   * history (the flusher reads the unbans' trailers). A ban older than that unban, delivered
   * late, is superseded rather than re-added.
   */
  unbannedAt?: ReadonlyMap<string, string>;
}

/** The key an operation writes: a hook's single address widened to the policy's banPrefix. */
export function targetCidr(op: Pick<Operation, 'cidr' | 'widen'>, banPrefix: PrefixLimits): Cidr {
  const c = parseCidr(op.cidr);
  if (!op.widen) return c;
  return widen(c, c.family === 4 ? banPrefix.ipv4 : banPrefix.ipv6);
}

/**
 * Why a ban of `cidr` must not be made, or null. Allowlisted means overlapping an allow
 * entry in either direction: a ban broader than an allow entry would never be enforced whole.
 */
export function refusal(cidr: Cidr, allow: readonly Cidr[], broadest: PrefixLimits): string | null {
  const limit = cidr.family === 4 ? broadest.ipv4 : broadest.ipv6;
  if (cidr.prefix < limit) return `${cidr.key} is broader than the policy allows (/${limit} for IPv${cidr.family})`;
  const special = specialAddress(cidr);
  if (special) return special;
  const hit = allow.find((a) => cidrOverlaps(a, cidr));
  if (hit) return `${cidr.key} is allowlisted (${hit.key})`;
  return null;
}

/** TTL in seconds after repeat-offender escalation: base × factor^(count−1), capped at maxTtl. */
export function escalatedTtl(base: number, count: number, escalation: PolicySpec['escalation']): number {
  if (base < 0 || !escalation || count <= 1) return base;
  const cap = parseDuration(escalation.maxTtl) / 1000;
  const ttl = base * Math.pow(escalation.factor, count - 1);
  return Math.round(Math.min(ttl, cap));
}

/** The largest `count` the ban list's schema accepts. */
export const MAX_COUNT = 1_000_000;

/** The longest TTL any ban gets when the policy sets no `escalation.maxTtl` (ledger/types.ts). */
export { MAX_TTL_S };

/**
 * The cap on a TTL. A hook's finite ban (fail2ban's bantime, however a runaway jail set it) is
 * capped at the policy's `escalation.maxTtl` when there is one, and at `maxTtl`; a hook's
 * `bantime = -1` stays permanent unless the policy sets `maxTtl` (the most a host's writer key
 * may write, controller/ledger/roles.ts), so a hook never makes a commit signed hosts would
 * hold. Every ban, people's too, is capped at MAX_TTL_S (so `expires` is always a date
 * validate accepts); otherwise -1 (permanent) stays.
 */
export function capTtl(ttl: number, policy: Pick<PolicySpec, 'escalation' | 'maxTtl'>, fromHook: boolean): number {
  const writerCap = policy.maxTtl !== undefined ? parseDuration(policy.maxTtl) / 1000 : undefined;
  if (ttl < 0) return fromHook && writerCap !== undefined ? Math.min(MAX_TTL_S, writerCap) : -1;
  const caps = [MAX_TTL_S, ...(fromHook && policy.escalation ? [parseDuration(policy.escalation.maxTtl) / 1000] : []), ...(fromHook && writerCap !== undefined ? [writerCap] : [])];
  return Math.min(ttl, ...caps);
}

/**
 * Whether the ledger's escalation applies. fail2ban's `<bancount>` above 1 means fail2ban
 * already counted this offender on this host (bantime.increment, if on, lengthened its
 * bantime): escalating that again would compound. The ledger escalates what fail2ban
 * cannot see: a host's first ban of an address other hosts banned before.
 */
function escalates(op: Operation): boolean {
  return op.escalate === true && op.op === 'ban' && !(op.bancount !== undefined && op.bancount > 1);
}

function baseTtl(op: Operation, policy: ApplyContext['policy']): number {
  return op.ttl ?? parseDuration(policy.defaultTtl) / 1000;
}

/** The later of two expiries; undefined (permanent) is the latest of all. */
function laterExpiry(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return undefined;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

function upsert(bans: Map<string, BanEntry>, key: string, op: Operation, ctx: ApplyContext): OpResult {
  const old = bans.get(key);
  const unbanned = old === undefined ? ctx.unbannedAt?.get(key) : undefined;
  if (unbanned !== undefined && Date.parse(unbanned) > Date.parse(op.at)) {
    return { op, cidr: key, outcome: 'superseded', detail: `unbanned at ${unbanned}, after this ${op.op} (${op.at}); not re-added` };
  }
  const live = old !== undefined && (old.expires === undefined || Date.parse(old.expires) > ctx.now.getTime());
  // The schema's maximum (schemas/banlist.schema.json): a millionth offence still bans.
  const count = Math.min(MAX_COUNT, op.op === 'ban' ? (old ? (old.count ?? 1) + 1 : 1) : (old?.count ?? 1));
  let ttl: number;
  let expires: string | undefined;
  if (op.until !== undefined) {
    ttl = capTtl(Math.round((Date.parse(op.until) - Date.parse(op.at)) / 1000), ctx.policy, op.widen === true);
  } else {
    const base = baseTtl(op, ctx.policy);
    ttl = capTtl(escalates(op) ? escalatedTtl(base, count, ctx.policy.escalation) : base, ctx.policy, op.widen === true);
  }
  expires = ttl < 0 && op.until === undefined ? undefined : formatTime(new Date(Date.parse(op.at) + Math.max(ttl, 0) * 1000));
  // Delivered after it already ran out (a long outage): adding it would enforce nothing.
  if (expires !== undefined && Date.parse(expires) <= ctx.now.getTime() && !live) {
    return { op, cidr: key, outcome: 'stale', expires, ttl };
  }
  const next: BanEntry = { cidr: key };
  const finalExpires = live ? laterExpiry(old.expires, expires) : expires;
  if (finalExpires !== undefined) next.expires = finalExpires;
  // An entry's `at` is its latest ban and never moves back: a ban delivered late (an offline
  // host) must not make a newer ban look old to the next unban.
  const older = live && old.at !== undefined && Date.parse(old.at) > Date.parse(op.at);
  next.at = older ? old.at! : op.at;
  next.by = older ? (old.by ?? op.by) : op.by;
  const jail = older ? old.jail : (op.jail ?? (op.op === 'prolong' ? old?.jail : undefined));
  if (jail !== undefined) next.jail = jail;
  const reason = op.reason ?? old?.reason;
  if (reason !== undefined) next.reason = reason;
  next.count = count;
  if (op.op === 'prolong' && old && finalExpires === old.expires) {
    return { op, cidr: key, outcome: 'unchanged', expires: finalExpires, ttl, count };
  }
  bans.set(key, next);
  return { op, cidr: key, outcome: old ? 'updated' : 'added', expires: finalExpires, ttl: finalExpires === undefined ? -1 : ttl, count };
}

/**
 * An unban removes an entry only when the entry's `at` is not later than the unban's, or it
 * carries no `at`: an unban queued on an offline host never deletes a ban another host made
 * after it. Within one second (times are whole seconds) a hook's unban yields: a fail2ban
 * host's ban and another host's unban in the same second end banned, whichever is pushed
 * first (rule 1, never lose a ban). A person's unban (`fail2git unban`, no widening) lifts a
 * ban of its own second: the person saw it; so does a hook's unban of a ban its own host made
 * (the host spooled the ban first). docs/fail2ban.md states the outcome.
 */
function applyUnban(bans: Map<string, BanEntry>, op: Operation, key: string): OpResult {
  const old = bans.get(key);
  if (!old) return { op, cidr: key, outcome: 'absent' };
  const banMs = old.at === undefined ? -Infinity : Date.parse(old.at);
  const unbanMs = Date.parse(op.at);
  const sawIt = op.widen !== true || old.by === op.host;
  const lifts = banMs < unbanMs || (banMs === unbanMs && sawIt);
  if (!lifts) {
    return { op, cidr: key, outcome: 'kept', detail: `banned at ${old.at}${old.by ? ` by ${old.by}` : ''}, not before this unban (${op.at}); the ban stays` };
  }
  bans.delete(key);
  return { op, cidr: key, outcome: 'removed' };
}

function applyOne(bans: Map<string, BanEntry>, op: Operation, allow: readonly Cidr[], ctx: ApplyContext): OpResult {
  // A damaged or forged spool file (a `/0`, a time past any date) is refused alone: one
  // operation never blocks the others.
  try {
    return applyChecked(bans, op, allow, ctx);
  } catch (err) {
    return { op, cidr: op.cidr, outcome: 'refused', detail: `cannot be applied: ${(err as Error).message}` };
  }
}

function applyChecked(bans: Map<string, BanEntry>, op: Operation, allow: readonly Cidr[], ctx: ApplyContext): OpResult {
  parseTime(op.at); // throws on anything validate would reject (no year 33715, no "yesterday")
  if (op.until !== undefined) parseTime(op.until);
  const target = targetCidr(op, ctx.policy.banPrefix);
  if (op.op === 'unban') return applyUnban(bans, op, target.key);
  const why = refusal(target, allow, ctx.policy.broadestPrefix);
  if (why) return { op, cidr: target.key, outcome: 'refused', detail: why };
  return upsert(bans, target.key, op, ctx);
}

/**
 * Applies operations in order to a ban list. Returns the new list (order kept; new entries
 * appended — the formatter sorts) and one result per operation.
 */
export function applyOperations(
  current: readonly BanEntry[],
  ops: readonly Operation[],
  ctx: ApplyContext,
): { bans: BanEntry[]; results: OpResult[] } {
  const bans = new Map(current.map((b) => [b.cidr, b] as const));
  const allow = ctx.allow.map((a) => parseCidr(a.cidr));
  const results = ops.map((op) => applyOne(bans, op, allow, ctx));
  return { bans: [...bans.values()], results };
}

/** Results that change the ledger (and therefore go into the commit's trailers). */
export function isChange(r: OpResult): boolean {
  return r.outcome === 'added' || r.outcome === 'updated' || r.outcome === 'removed';
}
