/**
 * Factory-time option checks shared by the drivers. A bad option is reported once, when the
 * target is built, as one line naming the target, the driver and the option; never on first use.
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
