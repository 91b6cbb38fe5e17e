/**
 * A plan-style summary of a ledger change (what `fail2git review` prints on a pull request):
 * what the change starts and stops enforcing (./enforced.ts), bans added, removed and
 * changed; allowlist, policy and target changes; and findings a reviewer must see — newly
 * enforced entries inside what the base held back, bans overlapping the allowlist, bans
 * broader than the policy allows, an invalid head.
 *
 * A valid side is read by the reconciler's own loader (snapshotOfLedger), so the summary
 * shows exactly what hosts will enforce. An invalid side is read leniently (parseSnapshot):
 * whatever parses, so a half-broken pull request still gets a useful summary.
 */
import { cidrOverlaps, tryParseCidr, CidrError, type Cidr } from '../net/cidr.js';
import { DEFAULT_POLICY, LEDGER_FILES, type BanEntry, type Ledger, type PrefixLimits } from '../ledger/types.js';
import { lenientDocuments } from '../ledger/yaml-parse.js';
import { compareEnforced, type EnforcementDiff } from './enforced.js';

type Fields = Record<string, unknown>;

export interface Snapshot {
  /** canonical cidr → the entry's fields */
  bans: Map<string, Fields>;
  /** canonical cidr → reason */
  allow: Map<string, string>;
  policy: Fields;
  /** target name → its document as JSON (for change detection) */
  targets: Map<string, string>;
  /** entries whose cidr does not parse: `file: text` */
  unparsable: string[];
  /** the side as a ledger, for the enforceable set (lenient sides: what parsed) */
  ledger: Ledger;
  /** why this side is not a valid ledger (`file:line:col: message`); empty when valid */
  problems: string[];
}

/** The ledger files' text at one revision; a missing file is undefined. */
export type LedgerTexts = Partial<Record<keyof typeof LEDGER_FILES, string>>;

function docs(text: string | undefined): Fields[] {
  if (!text) return [];
  return lenientDocuments(text)
    .filter((v): v is Fields => v !== null && typeof v === 'object' && !Array.isArray(v));
}

function entries(doc: Fields | undefined, key: string): Fields[] {
  const list = doc?.[key];
  return Array.isArray(list) ? list.filter((e): e is Fields => e !== null && typeof e === 'object') : [];
}

function keyed(list: Fields[], file: string, unparsable: string[]): Map<string, Fields> {
  const out = new Map<string, Fields>();
  for (const e of list) {
    const c = tryParseCidr(String(e.cidr ?? ''));
    if (c instanceof CidrError) unparsable.push(`${file}: ${JSON.stringify(e.cidr)} (${c.message})`);
    else out.set(c.key, { ...e, cidr: c.key }); // spelling is validate's concern, not a change
  }
  return out;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : undefined);

/** What a leniently read side would enforce: the entries that parsed, the policy's prefixes. */
function lenientLedger(bans: Map<string, Fields>, allow: Map<string, string>, policy: Fields): Ledger {
  const banEntries: BanEntry[] = [...bans.values()].map((e) => {
    const b: BanEntry = { cidr: String(e.cidr) };
    // An expiry that is not a time is read as already past: not enforced, never "permanent".
    if (e.expires !== undefined && e.expires !== null) b.expires = str(e.expires) ?? 'invalid';
    for (const k of ['at', 'by', 'jail', 'reason'] as const) {
      const v = str(e[k]);
      if (v !== undefined) b[k] = v;
    }
    return b;
  });
  return {
    bans: banEntries,
    allow: [...allow].map(([cidr, reason]) => (reason ? { cidr, reason } : { cidr })),
    policy: { ...DEFAULT_POLICY, broadestPrefix: broadestPrefix(policy) },
    targets: [],
    source: { dir: '' },
  };
}

/** A side read leniently from its texts (an invalid ledger, or a unit test's). */
export function parseSnapshot(texts: LedgerTexts, problems: string[] = []): Snapshot {
  const unparsable: string[] = [];
  const bans = keyed(entries(docs(texts.bans)[0], 'bans'), LEDGER_FILES.bans, unparsable);
  const allowEntries = keyed(entries(docs(texts.allow)[0], 'allow'), LEDGER_FILES.allow, unparsable);
  const allow = new Map([...allowEntries].map(([k, e]) => [k, typeof e.reason === 'string' ? e.reason : '']));
  const spec = docs(texts.policy)[0]?.spec;
  // Defaults filled in as the loader does, so a key spelled out at its default is no change.
  const policy: Fields = { ...DEFAULT_POLICY, ...(spec !== null && typeof spec === 'object' ? (spec as Fields) : {}) };
  const targets = new Map<string, string>();
  for (const d of docs(texts.targets)) {
    const name = (d.metadata as Fields | undefined)?.name;
    if (typeof name === 'string') targets.set(name, JSON.stringify(d.spec ?? null));
  }
  return { bans, allow, policy, targets, unparsable, ledger: lenientLedger(bans, allow, policy), problems };
}

/** A valid side, as the reconciler loaded it (policy defaults filled in). */
export function snapshotOfLedger(ledger: Ledger): Snapshot {
  const bans = new Map<string, Fields>(ledger.bans.map((b) => [b.cidr, { ...b }]));
  const allow = new Map(ledger.allow.map((a) => [a.cidr, a.reason ?? '']));
  const targets = new Map(ledger.targets.map((t) => [t.metadata.name, JSON.stringify(t.spec ?? null)]));
  return { bans, allow, policy: { ...ledger.policy }, targets, unparsable: [], ledger, problems: [] };
}

export interface BanChange {
  cidr: string;
  before: Fields;
  after: Fields;
  /** field names whose value differs */
  fields: string[];
}

export interface Summary {
  bansAdded: { cidr: string; entry: Fields }[];
  bansRemoved: { cidr: string; entry: Fields }[];
  bansChanged: BanChange[];
  allowAdded: { cidr: string; reason: string }[];
  allowRemoved: { cidr: string; reason: string }[];
  policyChanged: { key: string; before: unknown; after: unknown }[];
  targetsAdded: string[];
  targetsRemoved: string[];
  targetsChanged: string[];
  /** a ban this change adds or touches, or that a new allow entry covers, overlapping the allowlist */
  overlaps: { ban: string; allow: string; reason: string }[];
  /** bans this change adds or touches that are broader than the policy's broadestPrefix */
  tooBroad: { cidr: string; limit: number }[];
  unparsable: string[];
  /** what the change starts and stops enforcing, both sides evaluated at one moment */
  enforcement: EnforcementDiff;
  /** why the head is not a valid ledger (hosts keep enforcing their last good commit) */
  headInvalid: string[];
}

export interface SummarizeOptions {
  /** the moment both sides' enforceable sets are computed at (default now) */
  at?: Date;
  /** ranges the reviewer declares never to be banned (`review --protect`) */
  protect?: readonly string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function changedFields(a: Fields, b: Fields): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !same(a[k], b[k])).sort();
}

function broadestPrefix(policy: Fields): PrefixLimits {
  const p = policy.broadestPrefix as Partial<PrefixLimits> | undefined;
  return {
    ipv4: typeof p?.ipv4 === 'number' ? p.ipv4 : DEFAULT_POLICY.broadestPrefix.ipv4,
    ipv6: typeof p?.ipv6 === 'number' ? p.ipv6 : DEFAULT_POLICY.broadestPrefix.ipv6,
  };
}

const parsed = (key: string): Cidr => tryParseCidr(key) as Cidr;

function findOverlaps(head: Snapshot, touchedBans: string[], newAllow: Set<string>): Summary['overlaps'] {
  const out: Summary['overlaps'] = [];
  const touched = new Set(touchedBans);
  for (const ban of head.bans.keys()) {
    for (const [allow, reason] of head.allow) {
      if (!touched.has(ban) && !newAllow.has(allow)) continue;
      if (cidrOverlaps(parsed(ban), parsed(allow))) out.push({ ban, allow, reason });
    }
  }
  return out;
}

/** What merging `head` over `base` changes, and what a reviewer must look at. */
export function summarize(base: Snapshot, head: Snapshot, opts: SummarizeOptions = {}): Summary {
  const bansAdded = [...head.bans].filter(([k]) => !base.bans.has(k)).map(([cidr, entry]) => ({ cidr, entry }));
  const bansRemoved = [...base.bans].filter(([k]) => !head.bans.has(k)).map(([cidr, entry]) => ({ cidr, entry }));
  const bansChanged = [...head.bans].flatMap(([cidr, after]) => {
    const before = base.bans.get(cidr);
    const fields = before ? changedFields(before, after) : [];
    return before && fields.length > 0 ? [{ cidr, before, after, fields }] : [];
  });
  const allowAdded = [...head.allow].filter(([k]) => !base.allow.has(k)).map(([cidr, reason]) => ({ cidr, reason }));
  const allowRemoved = [...base.allow].filter(([k]) => !head.allow.has(k)).map(([cidr, reason]) => ({ cidr, reason }));
  const policyKeys = [...new Set([...Object.keys(base.policy), ...Object.keys(head.policy)])].sort();
  const policyChanged = policyKeys
    .filter((k) => !same(base.policy[k], head.policy[k]))
    .map((key) => ({ key, before: base.policy[key], after: head.policy[key] }));
  const touched = [...bansAdded.map((b) => b.cidr), ...bansChanged.map((b) => b.cidr)];
  const limits = broadestPrefix(head.policy);
  const tooBroad = touched.flatMap((cidr) => {
    const c = parsed(cidr);
    const limit = c.family === 4 ? limits.ipv4 : limits.ipv6;
    return c.prefix < limit ? [{ cidr, limit }] : [];
  });
  return {
    bansAdded,
    bansRemoved,
    bansChanged,
    allowAdded,
    allowRemoved,
    policyChanged,
    targetsAdded: [...head.targets.keys()].filter((k) => !base.targets.has(k)),
    targetsRemoved: [...base.targets.keys()].filter((k) => !head.targets.has(k)),
    targetsChanged: [...head.targets].filter(([k, v]) => base.targets.has(k) && base.targets.get(k) !== v).map(([k]) => k),
    overlaps: findOverlaps(head, touched, new Set(allowAdded.map((a) => a.cidr))),
    tooBroad,
    unparsable: head.unparsable,
    enforcement: compareEnforced(base.ledger, head.ledger, opts.at ?? new Date(), opts.protect),
    headInvalid: head.problems,
  };
}

/** How many findings: each makes `fail2git review` exit 1, a reviewer must look before merging. */
export function findingCount(s: Summary): number {
  return s.enforcement.findings.length + s.overlaps.length + s.tooBroad.length + s.unparsable.length + (s.headInvalid.length > 0 ? 1 : 0);
}

export function hasFindings(s: Summary): boolean {
  return findingCount(s) > 0;
}
