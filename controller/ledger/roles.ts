/**
 * Signer roles (DESIGN "Who decides what"): what a commit may change, by who signed it.
 *
 * Pure: two ledger snapshots (a commit's first parent and the commit) and the signer's role
 * in, a verdict out. An *admin* (a key in the host's `adminSigners`) may change anything. A
 * *writer* (a key in `allowedSigners` only: the fail2ban hosts) may change `bans/active.yaml`
 * and nothing else in the tree, and only as operations would (hooks/operations.ts):
 * - a ban it adds or changes is no broader than the policy's `broadestPrefix`;
 * - an expiry it writes is at most the policy's `maxTtl` (else ten years) after the commit's
 *   time, with CLOCK_SLACK_MS for clocks; a permanent entry (fail2ban's `bantime = -1` is an
 *   operation) only when the policy sets no `maxTtl`;
 * - removing entries (unbans, gc of expired lines) is always allowed (the removal guard
 *   bounds how many one run enforces).
 * An entry a writer leaves as it was (same expiry) is not judged again: a re-ban of an
 * admin's longer ban keeps the admin's expiry, as operations do.
 */
import { parseCidr } from '../net/cidr.js';
import { parseEntryLine } from './banlist-lines.js';
import { parseDuration } from '../lib/duration.js';
import { LEDGER_FILES, MAX_TTL_S, type BanEntry, type PolicySpec } from './types.js';

export type SignerRole = 'admin' | 'writer';

/** What the role check reads of one commit. */
export interface LedgerSnapshot {
  /** every path of the commit's tree → its mode and object id (`100644 blob 1a2b…`) */
  tree: ReadonlyMap<string, string>;
  /** the entries of bans/active.yaml; undefined when the file does not parse */
  bans: readonly BanEntry[] | undefined;
  /** the policy in force at this commit (defaults filled in) */
  policy: Pick<PolicySpec, 'broadestPrefix' | 'escalation' | 'maxTtl'>;
}

export type RoleVerdict = { ok: true } | { ok: false; file: string; why: string };

/** How far a writer's clock may run ahead of the commit's time before its expiries count as too long. */
export const CLOCK_SLACK_MS = 5 * 60_000;

/** The longest TTL a writer may give a ban, in ms; undefined = no maximum (permanent allowed). */
export function writerMaxTtlMs(policy: Pick<PolicySpec, 'maxTtl'>): number | undefined {
  return policy.maxTtl !== undefined ? Math.min(parseDuration(policy.maxTtl), MAX_TTL_S * 1000) : undefined;
}

function sameEntry(a: BanEntry, b: BanEntry): boolean {
  return a.cidr === b.cidr && a.expires === b.expires && a.at === b.at && a.by === b.by && a.jail === b.jail && a.reason === b.reason && a.count === b.count;
}

/**
 * Why a writer's new or changed entry is not what an operation may write, or undefined. The
 * writer side (hooks/flush.ts) asks the same before it pushes, so a host never makes a
 * commit that hosts with adminSigners would hold.
 */
export function writerEntryProblem(e: BanEntry, old: BanEntry | undefined, policy: LedgerSnapshot['policy'], at: Date): string | undefined {
  let c;
  try {
    c = parseCidr(e.cidr);
  } catch {
    return `${e.cidr} is not an address`;
  }
  const limit = c.family === 4 ? policy.broadestPrefix.ipv4 : policy.broadestPrefix.ipv6;
  if (c.prefix < limit) return `bans ${c.key}, broader than the policy's broadestPrefix (/${limit} for IPv${c.family})`;
  if (old && old.expires === e.expires) return undefined;
  const maxMs = writerMaxTtlMs(policy);
  if (e.expires === undefined) {
    return maxMs === undefined ? undefined : `bans ${c.key} permanently; the policy's maxTtl is ${policy.maxTtl}`;
  }
  const limitMs = at.getTime() + (maxMs ?? MAX_TTL_S * 1000) + CLOCK_SLACK_MS;
  const expires = Date.parse(e.expires);
  if (Number.isNaN(expires)) return `bans ${c.key} until ${JSON.stringify(e.expires)}, which is not a time`;
  if (expires > limitMs) {
    const max = policy.maxTtl ?? '10 years';
    return `bans ${c.key} until ${e.expires}, longer than the policy's maxTtl (${max}) after ${at.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
  }
  return undefined;
}

/**
 * Whether a commit signed in `role` may turn `before` (its first parent; undefined for a
 * root commit) into `after`. `at` is the commit's time as the verifier accepts it (its
 * committer date, never later than the verification time).
 */
export function judgeRole(before: LedgerSnapshot | undefined, after: LedgerSnapshot, role: SignerRole, at: Date): RoleVerdict {
  if (role === 'admin') return { ok: true };
  const old = before?.tree ?? new Map<string, string>();
  const paths = [...new Set([...old.keys(), ...after.tree.keys()])].sort();
  const other = paths.find((p) => p !== LEDGER_FILES.bans && old.get(p) !== after.tree.get(p));
  if (other !== undefined) {
    const how = !old.has(other) ? 'adds' : !after.tree.has(other) ? 'deletes' : 'changes';
    return { ok: false, file: other, why: `${how} ${other}; a writer key may only change ${LEDGER_FILES.bans} (this needs a key in adminSigners)` };
  }
  if (old.get(LEDGER_FILES.bans) === after.tree.get(LEDGER_FILES.bans)) return { ok: true };
  if (!after.bans) return { ok: false, file: LEDGER_FILES.bans, why: `leaves ${LEDGER_FILES.bans} unreadable, which no operation does` };
  const prev = new Map((before?.bans ?? []).map((b) => [b.cidr, b] as const));
  for (const e of after.bans) {
    const was = prev.get(e.cidr);
    if (was && sameEntry(was, e)) continue;
    const why = writerEntryProblem(e, was, after.policy, at);
    if (why) return { ok: false, file: LEDGER_FILES.bans, why: `${why}; a writer key may not (this needs a key in adminSigners)` };
  }
  return { ok: true };
}

/** Lines of a ban list that carry no entry and that every writer keeps as they are. */
const STRUCTURE = /^(apiVersion: fail2git\/v1|kind: BanList|bans:|bans: \[\]|#.*|)$/;

/**
 * The entries two versions of bans/active.yaml differ in, read line by line (the layout
 * writers produce has one entry per line): `removed` from the lines only `before` has, `added`
 * from the lines only `after` has. judgeRole gives the same verdict on these as on the whole
 * lists (unchanged entries are never judged, removals always allowed) without parsing 100k
 * lines per commit. Null when a differing line is not one entry: parse the whole files then.
 */
export function diffBanLines(before: string, after: string): { removed: BanEntry[]; added: BanEntry[] } | null {
  const split = (t: string) => t.split('\n').map((l) => l.replace(/\r$/, ''));
  const old = new Set(split(before));
  const now = split(after);
  const kept = new Set(now);
  const entries = (lines: Iterable<string>, other: Set<string>): BanEntry[] | null => {
    const out: BanEntry[] = [];
    for (const line of lines) {
      if (other.has(line) || STRUCTURE.test(line)) continue;
      const e = parseEntryLine(line);
      if (!e) return null;
      out.push(e);
    }
    return out;
  };
  const removed = entries(old, kept);
  const added = entries(now, old);
  return removed && added ? { removed, added } : null;
}
