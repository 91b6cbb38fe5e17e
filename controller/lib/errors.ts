/**
 * Typed errors. Every error fail2git raises on purpose carries a stable `code`
 * so callers (the CLI, the reconciler, tests) branch on the code, never on text.
 * `message` is always one line a person can act on, and never contains secrets.
 */
import { redact } from './redact.js';

// The one redaction home is ./redact.ts; re-exported because every error path needs it.
export { redact };

export class Fail2gitError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input from a person or a hook: usage, a malformed address, a bad flag. Exit 2 for usage, 1 otherwise. */
export class InputError extends Fail2gitError {}

/** The ledger (or a document in it) is invalid: never enforce it, keep the last good one. */
export class InvalidLedgerError extends Fail2gitError {
  readonly problems: readonly { file: string; line: number; col: number; message: string }[];
  constructor(message: string, problems: InvalidLedgerError['problems'] = []) {
    super('E_LEDGER_INVALID', message);
    this.problems = problems;
  }
}

/** The host config is missing or broken. */
export class ConfigError extends Fail2gitError {}

/** Something outside us failed and may work later (network, lock, remote). Retry. */
export class TransientError extends Fail2gitError {}

/** A target's I/O failed. Isolated to that target. */
export class TargetError extends Fail2gitError {
  readonly target: string;
  constructor(target: string, code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.target = target;
  }
}

/** A guardrail refused a plan (removal limit, protected address). Needs a human (or --force). */
export class GuardError extends Fail2gitError {}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return redact(err.message.split('\n')[0] ?? String(err));
  return redact(String(err));
}
