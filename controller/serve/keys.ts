/**
 * The keys `serve` accepts (host config `serve.bouncerKeys` / `serve.pageKeys`): each held
 * as its SHA-256 only, compared in constant time. A key file is read once at start; a key is
 * never logged, never echoed, never part of a page.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readKeyFile } from '../lib/key-file.js';
import type { ServeKey } from '../config/host-config.js';

export interface LoadedKey {
  name: string;
  sha256: Buffer;
  expandRanges: number;
}

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export function loadKeys(keys: readonly ServeKey[], what: string): LoadedKey[] {
  return keys.map((k) => {
    const name = `the ${what} key "${k.name}"`;
    const digest = k.keySha256 ? Buffer.from(k.keySha256, 'hex') : sha256(readKeyFile(k.keyFile!, 'E_SERVE_KEY', { setting: name, secret: name }));
    return { name: k.name, sha256: digest, expandRanges: k.expandRanges ?? 0 };
  });
}

/** The key a presented secret matches, if any (every key compared, in constant time). */
export function matchKey(keys: readonly LoadedKey[], presented: string | undefined): LoadedKey | undefined {
  if (presented === undefined || presented === '' || presented.length > 1024) return undefined;
  const d = sha256(presented);
  let found: LoadedKey | undefined;
  for (const k of keys) if (timingSafeEqual(k.sha256, d) && !found) found = k;
  return found;
}
