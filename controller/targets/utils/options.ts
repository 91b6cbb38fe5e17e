/**
 * Factory-time option checks shared by all six drivers. A bad option is reported once, when
 * the target is built, as one TargetError `E_TARGET_OPTION` line naming the target, the driver
 * and the option (`target "t" (driver): option x …`); never on first use. Each driver turns
 * its raw options into its own `<Driver>Options` type with one of these readers.
 */
import { TargetError } from '../../lib/errors.js';

export class OptionReader {
  constructor(
    private readonly target: string,
    private readonly driver: string,
    private readonly options: Record<string, unknown>,
  ) {}

  /** refuses options the driver does not know (a typo must not silently fall back to a default) */
  only(known: readonly string[]): this {
    const unknown = Object.keys(this.options).filter((k) => !known.includes(k));
    if (unknown.length > 0) {
      throw this.error(`unknown option ${unknown.map((k) => JSON.stringify(k)).join(', ')} (known: ${known.join(', ') || 'none'})`);
    }
    return this;
  }

  string(key: string, fallback: string, pattern?: RegExp, rule?: string): string {
    const value = this.options[key] ?? fallback;
    if (typeof value !== 'string' || value === '') throw this.error(`option ${key} must be a non-empty string`);
    if (pattern && !pattern.test(value)) throw this.error(`option ${key} ${JSON.stringify(value)} is invalid: ${rule ?? `must match ${pattern}`}`);
    return value;
  }

  /** A string option with no default: undefined when absent (or written without a value). */
  optionalString(key: string): string | undefined {
    const value = this.options[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value === '') throw this.error(`option ${key} must be a non-empty string`);
    return value;
  }

  /** A finite number option ≥ `min`, else the fallback when absent. */
  number(key: string, min: number, fallback: number): number {
    const value = this.options[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw this.error(`option ${key} must be a number ≥ ${min}`);
    return value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.options[key] ?? fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      throw this.error(`option ${key} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
    }
    return value as T;
  }

  /** `maxEntries`, the option every driver takes: a whole number ≥ 1, or undefined (no limit of ours) */
  maxEntries(): number | undefined {
    const value = this.options.maxEntries;
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw this.error(`option maxEntries must be a whole number ≥ 1 (got ${JSON.stringify(value)})`);
    return value;
  }

  /** Throws the option error: for checks a driver makes itself (`o.fail(...)` reads as a statement). */
  fail(message: string): never {
    throw this.error(message);
  }

  error(message: string): TargetError {
    return new TargetError(this.target, 'E_TARGET_OPTION', `target ${JSON.stringify(this.target)} (${this.driver}): ${message}`);
  }

  raw(key: string): unknown {
    return this.options[key];
  }
}

export function options(target: string, driver: string, opts: Record<string, unknown> | undefined): OptionReader {
  return new OptionReader(target, driver, opts ?? {});
}

/** The option every driver knows besides its own: at most this many entries (a router's small table, a WAF list). */
export const MAX_ENTRIES = 'maxEntries';

/** Which netfilter hooks drop traffic from banned sources. */
export type Enforce = 'input' | 'forward' | 'both' | 'none';
export const ENFORCE_VALUES: readonly Enforce[] = ['input', 'forward', 'both', 'none'];

export function enforcedHooks(enforce: Enforce): { input: boolean; forward: boolean } {
  return { input: enforce === 'input' || enforce === 'both', forward: enforce === 'forward' || enforce === 'both' };
}
