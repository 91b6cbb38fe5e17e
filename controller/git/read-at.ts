/**
 * Reads the ledger files as they are at one git revision, without touching the work tree
 * (`git cat-file`), so a review can compare any two commits of a checkout.
 */
import { InputError } from '../lib/errors.js';
import { LEDGER_FILES } from '../ledger/types.js';
import { execRunner, ExecError, type Runner } from '../lib/exec.js';
import type { LedgerTexts } from '../review/pr-summary.js';

/** GitHub's "before" of a newly pushed branch: no previous state at all. */
const NULL_REV = /^0{40}$|^0{64}$/;

/** True for GitHub's all-zero "before" of a new branch (an empty ledger). */
export function isNullRev(rev: string): boolean {
  return NULL_REV.test(rev);
}

export async function resolveCommit(dir: string, rev: string, run: Runner = execRunner): Promise<string> {
  try {
    const { stdout } = await run('git', ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { cwd: dir });
    return stdout.trim();
  } catch (err) {
    if (err instanceof ExecError && err.code === 'E_EXEC_MISSING') throw err;
    throw new InputError('E_REV', `${rev}: not a commit in ${dir} (fetch it first, e.g. actions/checkout with fetch-depth: 0)`);
  }
}

export async function readLedgerTextsAt(dir: string, rev: string, run: Runner = execRunner): Promise<LedgerTexts> {
  if (NULL_REV.test(rev)) return {};
  const commit = await resolveCommit(dir, rev, run);
  const texts: LedgerTexts = {};
  for (const [kind, path] of Object.entries(LEDGER_FILES) as [keyof typeof LEDGER_FILES, string][]) {
    try {
      texts[kind] = (await run('git', ['cat-file', 'blob', `${commit}:${path}`], { cwd: dir })).stdout;
    } catch (err) {
      if (err instanceof ExecError && err.exitCode === 128) continue; // the file does not exist there
      throw err;
    }
  }
  return texts;
}
