/**
 * The one reader of a shared-secret file (serve's bouncer, page and mirror keys, the forge
 * webhook's secret, a host's wake key): one line of at least MIN_KEY_LENGTH characters without
 * spaces, read once at start. What the secret is for names it in the two errors.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type ErrorCode } from './errors.js';

export const MIN_KEY_LENGTH = 16;

export interface KeyFileNames {
  /** the setting that names the file, for "cannot read …" (e.g. `wake.keyFile`) */
  setting: string;
  /** the secret itself, for "… must be one line" (e.g. `the wake key`) */
  secret: string;
}

export function readKeyFile(path: string, code: ErrorCode, names: KeyFileNames): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(code, `${path}: cannot read ${names.setting} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (text.length < MIN_KEY_LENGTH || /\s/.test(text)) throw new ConfigError(code, `${path}: ${names.secret} must be one line of at least ${MIN_KEY_LENGTH} characters without spaces`);
  return text;
}
