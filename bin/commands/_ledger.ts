/**
 * Shared by the commands that read a ledger (validate, fmt, list, export): where the
 * ledger is, how it is loaded, how problems are printed. Not a command itself (the
 * registry only imports names it lists).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../controller/lib/errors.js';
import { UsageError, defaultLedgerDir, err } from '../cli.js';
import { configPath, ledgerClonePath } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { formatProblem, type LoadResult, type Problem } from '../../controller/ledger/types.js';
import { parseTime } from '../../controller/lib/duration.js';

export const LEDGER_FLAG_HELP = `  --ledger DIR   the ledger (a directory holding bans/); default: the current directory when
                 it holds bans/, else this host's clone (stateDir/ledger from the host config)`;

/** `--ledger DIR`, else the current directory with bans/, else the host's clone. */
export async function resolveLedgerDir(flag: string | undefined): Promise<string> {
  let dir: string;
  try {
    dir = defaultLedgerDir(flag);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    const path = configPath();
    if (!existsSync(path)) throw e;
    dir = ledgerClonePath(await loadHostConfig(path));
  }
  if (!existsSync(join(dir, 'bans'))) throw new InputError('E_LEDGER_MISSING', `${dir}: no bans/ directory here; not a fail2git ledger`);
  return dir;
}

/** Parses `--at TIME` (RFC 3339); absent = now. */
export function atFlag(value: string | undefined): Date {
  if (value === undefined) return new Date();
  try {
    return parseTime(value);
  } catch (e) {
    throw new UsageError(`--at: ${(e as Error).message}`);
  }
}

/** Prints problems to stderr, one line each; true when the ledger must not be used. */
export function reportProblems(result: LoadResult): boolean {
  for (const p of result.problems) err(formatProblem(p));
  if (result.problems.length > 0) err(`fail2git: the ledger is invalid (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}); see fail2git validate`);
  return result.problems.length > 0;
}

export function problemJson(p: Problem): Record<string, unknown> {
  return { file: p.file, line: p.line, col: p.col, code: p.code, message: p.message, text: formatProblem(p) };
}

/** Loads the ledger in `dir` and computes the enforceable set at `at`; null when invalid. */
export async function enforceable(dir: string, at: Date) {
  const { loadLedgerFromDir } = await import('../../controller/ledger/load.js');
  const result = await loadLedgerFromDir(dir);
  if (reportProblems(result)) return null;
  const { desiredSet } = await import('../../controller/desired/desired-set.js');
  return { result, set: desiredSet(result.ledger, at) };
}

/** `5 enforceable at T (2 expired, 1 allowlisted)`: the skipped reasons, counted. */
export function setSummary(count: number, skipped: readonly { reason: string }[], at: Date, formatTime: (d: Date) => string): string {
  const by = new Map<string, number>();
  for (const s of skipped) by.set(s.reason, (by.get(s.reason) ?? 0) + 1);
  const parts = [...by].map(([r, n]) => `${n} ${r}`);
  return `${count} enforceable at ${formatTime(at)}${parts.length ? ` (skipped: ${parts.join(', ')})` : ''}`;
}

let guarded = false;

/**
 * `fail2git list | head` closes the pipe early; that is the reader's choice, not an error,
 * so EPIPE on stdout ends the command quietly instead of crashing with a stack trace.
 */
export function quietOnClosedStdout(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
