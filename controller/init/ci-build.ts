/**
 * The single-file build a ledger's CI runs (`.fail2git/fail2git.mjs`, committed in the ledger):
 * CI then needs only Node and git, no package registry, and runs exactly the version that
 * wrote it. Found beside the running CLI, whichever way it was installed:
 *   dist/bin/fail2git.js            → dist/bundle/ci/fail2git.mjs (minified), else dist/fail2git.mjs
 *   dist/bundle/fail2git.mjs, the .deb's /usr/lib/fail2git/fail2git.mjs → ci/fail2git.mjs beside it
 *   a single-file fail2git.mjs      → itself
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../lib/errors.js';

/** Where the ledger keeps it (relative to the ledger root). */
export const LEDGER_BUILD_PATH = '.fail2git/fail2git.mjs';

/** The single-file build for the CLI whose entry is `entry` (process.argv[1]). */
export function singleFileBuild(entry: string, exists: (p: string) => boolean = existsSync): string {
  let real = entry;
  try {
    real = realpathSync(entry);
  } catch {
    // a path that does not resolve is judged as given
  }
  const dir = dirname(real);
  const candidates = [join(dir, 'ci', 'fail2git.mjs'), ...(basename(dir) === 'bin' ? [join(dir, '..', 'bundle', 'ci', 'fail2git.mjs'), join(dir, '..', 'fail2git.mjs')] : [])];
  // The single file itself: an .mjs with no chunks/ of its own beside it.
  if (real.endsWith('.mjs') && !exists(join(dir, 'chunks'))) candidates.push(real);
  const found = candidates.find((c) => exists(c));
  if (!found) {
    throw new InputError('E_INIT_NO_BUILD', `no single-file build of fail2git beside ${real} (looked for ${candidates.join(', ')}); run npm run build, or install the package`);
  }
  return found;
}
