/**
 * One enforcing reconciler per state dir. Two at once (the watch service and the timer
 * both enabled, or a manual run beside the service) would apply the same plan twice and
 * trip over each other ("File exists" from a driver). The lock file holds the holder's PID;
 * a lock whose process is gone is taken over. Dry runs (`plan`) need no lock.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const RUN_LOCK = 'reconcile.lock';

export interface RunLock {
  release(): void;
}

export type LockAttempt = { ok: true; lock: RunLock } | { ok: false; pid: number };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function tryRunLock(stateDir: string): LockAttempt {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, RUN_LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        ok: true,
        lock: {
          release() {
            if (released) return;
            released = true;
            try {
              if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
            } catch {
              // already gone
            }
          },
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(readText(path).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) return { ok: false, pid };
    // Stale (holder gone, or garbage): move it aside and try once more.
    try {
      renameSync(path, `${path}.stale-${process.pid}`);
      unlinkSync(`${path}.stale-${process.pid}`);
    } catch {
      // someone else took it over first; the next open decides
    }
  }
  const pid = Number(readText(path).trim());
  return { ok: false, pid: Number.isInteger(pid) ? pid : 0 };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
