/**
 * Reading the host config file, shared by the full loader (controller/config/host-config.ts) and the
 * hook's fast reader (controller/config/flat-reader.ts), which must not load the schema validators.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../lib/errors.js';

/** Reads the host config's text; a missing or unreadable file is one ConfigError line. */
export function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError('E_CONFIG_MISSING', `${path}: cannot read host config (${code ?? 'error'}); create it or pass --config FILE`);
  }
}
