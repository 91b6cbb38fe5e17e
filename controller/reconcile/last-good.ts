/**
 * The last good commit: the newest ledger commit that loaded without problems and
 * passed verification. It keeps being enforced when the tip is invalid or the remote
 * is down (DESIGN rule 4). On the policy's gcHost its parsed ledger is kept beside it as
 * JSON (gc reads it after each run); elsewhere the desired-set cache is all a run needs.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ledger } from '../ledger/types.js';
import type { GuardLimits } from '../plan/guard-limits.js';
import { writeFileAtomicSync } from '../lib/files.js';

export interface LastGood {
  rev: string;
  /** when it was first accepted (RFC 3339) */
  acceptedAt: string;
}

const FILE = 'last-good.json';
const SNAPSHOT = 'last-good-ledger.json';
const GUARD = 'guard-limits.json';

export function readLastGood(stateDir: string): LastGood | undefined {
  const raw = readJson(join(stateDir, FILE)) as Partial<LastGood> | undefined;
  if (!raw || typeof raw.rev !== 'string' || typeof raw.acceptedAt !== 'string') return undefined;
  return { rev: raw.rev, acceptedAt: raw.acceptedAt };
}

/** The cached ledger of `rev`, or undefined when the cache holds another commit (or none). */
export function readLedgerSnapshot(stateDir: string, rev: string): Ledger | undefined {
  const raw = readJson(join(stateDir, SNAPSHOT)) as { rev?: string; ledger?: Ledger } | undefined;
  return raw && raw.rev === rev && raw.ledger ? raw.ledger : undefined;
}

/**
 * Records `rev` as the last good commit, with its ledger snapshot when `snapshot` is given
 * (written first, so a crash leaves no pointer to a missing snapshot).
 */
export function writeLastGood(stateDir: string, rev: string, now: Date, snapshot?: Ledger): LastGood {
  mkdirSync(stateDir, { recursive: true });
  if (snapshot) writeFileAtomicSync(join(stateDir, SNAPSHOT), JSON.stringify({ rev, ledger: snapshot }), { mkdir: true, durable: true });
  const lg: LastGood = { rev, acceptedAt: now.toISOString() };
  writeFileAtomicSync(join(stateDir, FILE), JSON.stringify(lg, null, 2) + '\n', { mkdir: true, durable: true });
  return lg;
}

/**
 * The limits of the commit last enforced in full (every target up to date, nothing held):
 * a newer commit cannot loosen them in the run that first enforces it (plan/guard-limits.ts).
 */
export function readGuardBaseline(stateDir: string): GuardLimits | undefined {
  const raw = readJson(join(stateDir, GUARD)) as Partial<GuardLimits> | undefined;
  if (!raw || typeof raw.rev !== 'string' || !Array.isArray(raw.allow) || !raw.broadestPrefix || !raw.banPrefix) return undefined;
  if (typeof raw.maxRemovePerRun !== 'string' && typeof raw.maxRemovePerRun !== 'number') return undefined;
  return raw as GuardLimits;
}

export function writeGuardBaseline(stateDir: string, limits: GuardLimits): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileAtomicSync(join(stateDir, GUARD), JSON.stringify(limits) + '\n', { mkdir: true, durable: true });
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // A torn or hand-edited cache is not an error: it is rebuilt from git.
    return undefined;
  }
}
