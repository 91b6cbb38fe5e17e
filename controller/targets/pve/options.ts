/**
 * Checking a Target document's `options` for the Proxmox drivers: unknown keys and wrong
 * types fail at construction with one line naming the target and the option.
 */
import { ConfigError } from '../../lib/errors.js';

export class OptionReader {
  constructor(
    private readonly target: string,
    private readonly options: Record<string, unknown>,
    known: readonly string[],
  ) {
    for (const k of Object.keys(options)) {
      if (!known.includes(k)) this.fail(`unknown option "${k}" (known: ${known.join(', ')})`);
    }
  }

  fail(msg: string): never {
    throw new ConfigError('E_TARGET_OPTIONS', `target ${this.target}: ${msg}`);
  }

  str(key: string): string | undefined {
    const v = this.options[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') this.fail(`option "${key}" must be a non-empty string`);
    return v;
  }

  num(key: string, min: number): number | undefined {
    const v = this.options[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) this.fail(`option "${key}" must be a number ≥ ${min}`);
    return v;
  }

  /** `maxEntries`: a whole number ≥ 1, or undefined */
  maxEntries(): number | undefined {
    const v = this.num('maxEntries', 1);
    if (v !== undefined && !Number.isInteger(v)) this.fail('option "maxEntries" must be a whole number ≥ 1');
    return v;
  }

  /** Proxmox lower-cases set names when it parses the file; upper case would make the API and file disagree. */
  ipsetName(key: string, fallback: string): string {
    const name = this.str(key) ?? fallback;
    if (!/^[a-z][a-z0-9_-]{1,63}$/.test(name)) {
      this.fail(`option "${key}": ${JSON.stringify(name)} is not a valid Proxmox ipset name (lower-case letter, then 1-63 of a-z 0-9 _ -)`);
    }
    // Members of these sets are *allowed* (management ports, guest anti-spoofing): a ban there would open the door.
    if (name === 'management' || name.startsWith('ipfilter-')) {
      this.fail(`option "${key}": "${name}" is a Proxmox set with a special meaning (it allows its members); use blacklist or fail2ban`);
    }
    return name;
  }
}
