/**
 * Debian's own Node.js 18 (the `nodejs` package of Debian 12), prepared beside the build's
 * Node by scripts/debian-node.sh (`npm test` runs it as root). CLI-level tests run the shipped
 * bundle on it, because that is the Node stock Debian, Ubuntu 24.04 and Proxmox VE 8 hosts have.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { IN_CI } from './netns.js';

export const DEBIAN_NODE_DIR = process.env.FAIL2GIT_DEBIAN_NODE_DIR ?? '/var/cache/fail2git-test/debian-node';
/** The wrapper that sets the library path for Debian's libnode. */
export const DEBIAN_NODE = join(DEBIAN_NODE_DIR, 'node');

/** Why the Debian Node tests cannot run here, or undefined. Under CI=true its absence is a failure. */
export function debianNodeSkipReason(): string | undefined {
  const why = !existsSync(DEBIAN_NODE)
    ? `Debian's nodejs 18 is not prepared in ${DEBIAN_NODE_DIR} (run npm test as root, or bash scripts/debian-node.sh)`
    : spawnSync(DEBIAN_NODE, ['--version'], { encoding: 'utf8' }).stdout.startsWith('v18.') ? undefined : `${DEBIAN_NODE} is not Node 18`;
  if (why && IN_CI) throw new Error(`${why}; required when CI=true`);
  return why;
}
