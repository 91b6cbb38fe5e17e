/**
 * Turns a failed program run into one TargetError line: which target, which driver, what it
 * was doing, and the tool's own first lines of complaint. The cause is kept for debugging.
 */
import { TargetError, errorMessage } from '../../lib/errors.js';
import { ExecError } from '../../lib/exec.js';

export function targetFailure(target: string, driver: string, doing: string, err: unknown): TargetError {
  if (err instanceof TargetError) return err;
  const missing = err instanceof ExecError && err.code === 'E_EXEC_MISSING';
  const code = missing ? 'E_TARGET_TOOL_MISSING' : 'E_TARGET_IO';
  return new TargetError(target, code, `target ${JSON.stringify(target)} (${driver}): ${doing} failed: ${errorMessage(err)}`, { cause: err });
}

/** Runs fn, rewrapping any failure as a TargetError for this target. */
export async function guarded<T>(target: string, driver: string, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw targetFailure(target, driver, doing, err);
  }
}
