/**
 * What the hook needs from the ledger to refuse a ban up front — the allowlist and the
 * prefix limits — cached as JSON in `stateDir/guard.json` by every flush that fetched.
 * Reading it costs one small file instead of a YAML parser. Without it (a host that never
 * flushed) the hook checks the default limits only; the flusher re-checks against the
 * ledger at the remote tip before anything is committed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCidr, type Cidr } from '../controller/net/cidr.js';
import { DEFAULT_POLICY, type Ledger, type PrefixLimits } from '../controller/ledger/types.js';
import { writeFileAtomicSync } from '../controller/lib/files.js';

export interface GuardSummary {
  /** the ledger commit it was taken from */
  rev: string;
  allow: string[];
  broadestPrefix: PrefixLimits;
  banPrefix: PrefixLimits;
}

export interface Guard {
  allow: Cidr[];
  broadestPrefix: PrefixLimits;
  banPrefix: PrefixLimits;
  /** false when no cache exists yet (defaults only) */
  fromLedger: boolean;
}

export function guardPath(stateDir: string): string {
  return join(stateDir, 'guard.json');
}

export function summarize(ledger: Pick<Ledger, 'allow' | 'policy'>, rev: string): GuardSummary {
  return {
    rev,
    allow: ledger.allow.map((a) => a.cidr),
    broadestPrefix: ledger.policy.broadestPrefix,
    banPrefix: ledger.policy.banPrefix,
  };
}

export function writeGuard(stateDir: string, summary: GuardSummary): void {
  writeFileAtomicSync(guardPath(stateDir), JSON.stringify(summary) + '\n', { mode: 0o640 });
}

/** The cached guard, or the default limits when there is none (or it is unreadable). */
export function readGuard(stateDir: string): Guard {
  try {
    const s = JSON.parse(readFileSync(guardPath(stateDir), 'utf8')) as GuardSummary;
    return { allow: s.allow.map((c) => parseCidr(c)), broadestPrefix: s.broadestPrefix, banPrefix: s.banPrefix, fromLedger: true };
  } catch {
    return { allow: [], broadestPrefix: DEFAULT_POLICY.broadestPrefix, banPrefix: DEFAULT_POLICY.banPrefix, fromLedger: false };
  }
}
