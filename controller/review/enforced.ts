/**
 * What a change does to enforcement: the enforceable set (`fail2git list`, the reconciler's
 * desired set) of the base and of the head, computed at the same moment, compared entry by
 * entry. A change need not touch a ban line to start or stop enforcing it: narrowing an
 * allowlist entry or loosening `broadestPrefix` releases bans the base held back, and moving
 * `expires` into the past is an unban. Pure.
 */
import { cidrOverlaps, tryParseCidr, CidrError, type Cidr } from '../net/cidr.js';
import { desiredSet, type Skipped } from '../desired/desired-set.js';
import { isTooBroad } from '../ledger/cross-checks.js';
import type { BanEntry, Ledger } from '../ledger/types.js';

export type StartReason = 'added' | 'allowlist-narrowed' | 'policy-loosened' | 'expiry-extended' | 'unprotected';
export type StopReason = 'removed' | 'expiry-moved-into-past' | 'allowlist-widened' | 'policy-tightened' | 'protected';

export interface EnforcementChange<R extends string> {
  cidr: string;
  reason: R;
  /** one human sentence: why, with the values involved */
  detail: string;
  /** the entry on the side that enforces it */
  entry: BanEntry;
}

/** A newly enforced entry a reviewer must look at: it is inside what the base kept from enforcement. */
export interface GuardFinding {
  cidr: string;
  /** e.g. `inside base allowlisted 192.0.2.0/28 (management)` */
  detail: string;
}

export interface EnforcementDiff {
  /** the moment both sides were evaluated at (RFC 3339) */
  at: string;
  newlyEnforced: EnforcementChange<StartReason>[];
  noLongerEnforced: EnforcementChange<StopReason>[];
  findings: GuardFinding[];
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function parseList(cidrs: readonly string[]): Cidr[] {
  return cidrs.map((c) => tryParseCidr(c)).filter((c): c is Cidr => !(c instanceof CidrError));
}

function byKey(bans: readonly BanEntry[]): Map<string, BanEntry> {
  const out = new Map<string, BanEntry>();
  for (const b of bans) {
    const c = tryParseCidr(b.cidr);
    if (!(c instanceof CidrError)) out.set(c.key, b);
  }
  return out;
}

function startReason(skip: Skipped | undefined, before: BanEntry | undefined, after: BanEntry): Pick<EnforcementChange<StartReason>, 'reason' | 'detail'> {
  if (!before || !skip) return { reason: 'added', detail: 'added to the ledger' };
  switch (skip.reason) {
    case 'allowlisted':
      return { reason: 'allowlist-narrowed', detail: `the allowlist no longer covers it (base: ${skip.detail ?? 'allowlisted'})` };
    case 'too-broad':
      return { reason: 'policy-loosened', detail: `the policy's broadestPrefix was loosened (base: ${skip.detail ?? 'too broad'})` };
    case 'expired':
      return { reason: 'expiry-extended', detail: `expires moved from ${before.expires ?? '(none)'} (past) to ${after.expires ?? 'permanent'}` };
    case 'protected':
      return { reason: 'unprotected', detail: `no longer protected (base: ${skip.detail ?? 'protected'})` };
  }
}

function stopReason(skip: Skipped | undefined, before: BanEntry, after: BanEntry | undefined): Pick<EnforcementChange<StopReason>, 'reason' | 'detail'> {
  if (!after || !skip) return { reason: 'removed', detail: 'removed from the ledger: unbanned everywhere' };
  switch (skip.reason) {
    case 'expired':
      return { reason: 'expiry-moved-into-past', detail: `expires moved from ${before.expires ?? '(permanent)'} to ${after.expires ?? '(none)'}, in the past: an unban` };
    case 'allowlisted':
      return { reason: 'allowlist-widened', detail: `now ${skip.detail ?? 'allowlisted'}` };
    case 'too-broad':
      return { reason: 'policy-tightened', detail: `now ${skip.detail ?? 'too broad'}` };
    case 'protected':
      return { reason: 'protected', detail: `now ${skip.detail ?? 'protected'}` };
  }
}

function allowText(a: { cidr: string; reason?: string }): string {
  return a.reason ? `${a.cidr} (${a.reason})` : a.cidr;
}

/**
 * Compares what `base` and `head` enforce at `at`. `protect` are ranges the reviewer declares
 * never to be banned (management, the git server): like the base's allowlist and its
 * broadestPrefix, a newly enforced entry inside one is a finding.
 */
export function compareEnforced(base: Ledger, head: Ledger, at: Date, protect: readonly string[] = []): EnforcementDiff {
  const before = desiredSet(base, at);
  const after = desiredSet(head, at);
  const baseBans = byKey(base.bans);
  const headBans = byKey(head.bans);
  const wasOn = new Set(before.entries.map((e) => e.cidr));
  const isOn = new Set(after.entries.map((e) => e.cidr));
  const baseSkip = new Map(before.skipped.map((s) => [s.cidr, s]));
  const headSkip = new Map(after.skipped.map((s) => [s.cidr, s]));
  const baseAllow = base.allow.map((a) => ({ a, c: tryParseCidr(a.cidr) })).filter((x): x is { a: typeof x.a; c: Cidr } => !(x.c instanceof CidrError));
  const guarded = parseList(protect).map((c) => ({ c, text: c.key }));

  const newlyEnforced: EnforcementChange<StartReason>[] = [];
  const findings: GuardFinding[] = [];
  for (const e of after.entries) {
    if (wasOn.has(e.cidr)) continue;
    const entry = headBans.get(e.cidr)!;
    newlyEnforced.push({ cidr: e.cidr, ...startReason(baseSkip.get(e.cidr), baseBans.get(e.cidr), entry), entry });
    const c = tryParseCidr(e.cidr) as Cidr;
    for (const { a, c: ac } of baseAllow) {
      if (cidrOverlaps(c, ac)) findings.push({ cidr: e.cidr, detail: `inside base allowlisted ${allowText(a)}` });
    }
    if (isTooBroad(c, base.policy)) {
      const limit = c.family === 4 ? base.policy.broadestPrefix.ipv4 : base.policy.broadestPrefix.ipv6;
      findings.push({ cidr: e.cidr, detail: `broader than the base policy's broadestPrefix /${limit}` });
    }
    for (const g of guarded) if (cidrOverlaps(c, g.c)) findings.push({ cidr: e.cidr, detail: `inside protected ${g.text}` });
  }

  const noLongerEnforced: EnforcementChange<StopReason>[] = [];
  for (const e of before.entries) {
    if (isOn.has(e.cidr)) continue;
    const entry = baseBans.get(e.cidr)!;
    noLongerEnforced.push({ cidr: e.cidr, ...stopReason(headSkip.get(e.cidr), entry, headBans.get(e.cidr)), entry });
  }
  return { at: iso(at), newlyEnforced, noLongerEnforced, findings };
}
