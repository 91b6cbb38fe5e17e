/**
 * The real Proxmox files in shared/fixtures/pve/. They live beside the repository, not in
 * it: `../shared` next to a clone (how CI lays it out), else the workplace's /work/shared.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './git.js';

const CANDIDATES = [join(REPO_ROOT, '..', 'shared', 'fixtures', 'pve'), '/work/shared/fixtures/pve'];

/** The pve fixtures directory; throws (fails the test) when neither place has it. */
export function pveFixturesDir(): string {
  const found = CANDIDATES.find((d) => existsSync(join(d, 'README.md')));
  if (!found) throw new Error(`Proxmox fixtures not found (looked in ${CANDIDATES.join(', ')})`);
  return found;
}
