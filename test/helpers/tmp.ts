/**
 * Unique temp dirs and names for tests. Test files run in parallel, so every namespace,
 * set and directory gets a name no other test can pick, and is removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const made: string[] = [];

/** A fresh temp dir, removed by cleanupTmp() (call it from afterAll/afterEach). */
export function tmpDir(prefix = 'f2g'): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  made.push(dir);
  return dir;
}

export function cleanupTmp(): void {
  while (made.length > 0) rmSync(made.pop()!, { recursive: true, force: true });
}

/** A short unique name (kernel names are short: ipset ≤ 31 chars, netns ≤ 15 useful). */
export function uniqueName(prefix: string, len = 6): string {
  return `${prefix}${randomBytes(8).toString('hex').slice(0, len)}`;
}
