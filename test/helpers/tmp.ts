/**
 * Unique temp dirs and names for tests. Test files run in parallel, so every namespace,
 * set and directory gets a name no other test can pick, and is removed afterwards.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * Removes every temp dir made so far. A process a test started that still works in one (a
 * resident `fail2git flush --watch` that fail2ban's action line spawned, waiting out its idle
 * time) is stopped first, so it neither outlives the test nor writes into a directory being
 * removed (ENOTEMPTY).
 */
export function cleanupTmp(): void {
  while (made.length > 0) {
    const dir = made.pop()!;
    stopProcessesUsing(dir);
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

/** SIGTERM to every process of ours whose command line names `dir`. */
function stopProcessesUsing(dir: string): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return;
  }
  for (const pid of pids) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone, or not ours to read
    }
    if (!cmdline.includes(`${dir}/`)) continue;
    try {
      process.kill(Number(pid), 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/** A short unique name (kernel names are short: ipset ≤ 31 chars, netns ≤ 15 useful). */
export function uniqueName(prefix: string, len = 6): string {
  return `${prefix}${randomBytes(8).toString('hex').slice(0, len)}`;
}
