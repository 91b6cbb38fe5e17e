/**
 * One enforcing reconciler per state dir. Two at once (the watch service and the timer
 * both enabled, or a manual run beside the service) would apply the same plan twice and
 * trip over each other ("File exists" from a driver). Dry runs (`plan`) need no lock.
 *
 * The same lock file protocol as the flusher's (controller/lib/lock.ts: `PID TIME`, race-safe
 * takeover), except that a reconciler in --watch holds it for days: only a dead holder
 * makes it stale, never its age.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tryLock } from '../lib/lock.js';

export const RUN_LOCK = 'reconcile.lock';

export interface RunLock {
  release(): void;
}

export type LockAttempt = { ok: true; lock: RunLock } | { ok: false; pid: number };

export function tryRunLock(stateDir: string): LockAttempt {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, RUN_LOCK);
  const lock = tryLock(path, { staleMs: Number.POSITIVE_INFINITY });
  if (lock) return { ok: true, lock };
  return { ok: false, pid: holder(path) };
}

function holder(path: string): number {
  try {
    const pid = Number(readFileSync(path, 'utf8').split(' ')[0]);
    return Number.isInteger(pid) ? pid : 0;
  } catch {
    return 0;
  }
}
