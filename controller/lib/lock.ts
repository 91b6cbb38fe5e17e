/**
 * One flusher at a time per host: a lock file holding `PID TIMESTAMP`.
 *
 * Stale-lock recovery: a lock whose PID is dead, or older than `staleMs` (a stuck or
 * PID-reused holder), is taken over. Takeover renames the lock aside first and checks it
 * still holds what was judged stale, so two recoverers cannot both win.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from './files.js';

/** The flusher's lock in a host's state directory. */
export function flushLockPath(stateDir: string): string {
  return join(stateDir, 'flush.lock');
}

/** The resident flusher's lock (`fail2git flush --watch`) in a host's state directory. */
export function watchLockPath(stateDir: string): string {
  return join(stateDir, 'watch.lock');
}

/**
 * A resident flusher being started (its PID alone): written by whoever starts one (the action
 * line, `fail2git hook flush`) and removed by the flusher once it holds watch.lock, so the
 * bans of a storm that arrive during its start-up (node takes 50–300 ms) start no second one.
 */
export function watchStartPath(stateDir: string): string {
  return join(stateDir, 'watch.start');
}

/** The PID of the live process holding a lock file (`PID TIME`, not stale), or null. */
export function lockHolder(path: string, now = Date.now(), staleMs = 10 * 60_000): number | null {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  return isStale(content, now, staleMs) ? null : Number(content.split(' ')[0]);
}

export interface Lock {
  path: string;
  /** renews the lock's timestamp (a long storm must not look stale); false if it was taken over */
  refresh(): boolean;
  release(): void;
}

export interface LockOptions {
  /** a lock older than this is stale even if its PID lives; default 10 min */
  staleMs?: number;
  now?: () => number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pure: is a lock with this content stale at `now`? Unreadable content counts as stale. */
export function isStale(content: string, now: number, staleMs: number, alive: (pid: number) => boolean = isAlive): boolean {
  const m = /^(\d+) (\d+)\s*$/.exec(content);
  if (!m) return true;
  const pid = Number(m[1]);
  const since = Number(m[2]);
  return !alive(pid) || now - since > staleMs;
}

function tryCreate(path: string, now: number): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o640);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid} ${now}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Removes a stale lock if it still holds `seen`; puts a lock that changed meanwhile back. */
function breakStale(path: string, seen: string): void {
  const aside = `${path}.stale-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else removed it
  }
  if (readOrNull(aside) !== seen) {
    try {
      linkSync(aside, path); // a fresh lock was taken between our read and rename: restore it
    } catch {
      /* a newer lock exists; the one we moved is superseded */
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    /* already gone */
  }
}

/** Takes the lock, or returns null when a live flusher holds it. */
export function tryLock(path: string, opts: LockOptions = {}): Lock | null {
  const now = opts.now ?? Date.now;
  const staleMs = opts.staleMs ?? 10 * 60_000;
  for (let attempt = 0; attempt < 3; attempt++) {
    const t = now();
    if (tryCreate(path, t)) {
      let mine = `${process.pid} ${t}\n`;
      return {
        path,
        refresh() {
          if (readOrNull(path) !== mine) return false;
          const next = `${process.pid} ${now()}\n`;
          writeFileAtomicSync(path, next);
          mine = next;
          return true;
        },
        release() {
          // Only remove our own lock: if it was taken over as stale, it is someone else's now.
          if (readOrNull(path) === mine) unlinkSync(path);
        },
      };
    }
    const seen = readOrNull(path);
    if (seen === null) continue;
    if (!isStale(seen, t, staleMs)) return null;
    breakStale(path, seen);
  }
  return null;
}

/** Waits for the lock up to `timeoutMs` (people's commands wait; hooks never do). */
export async function waitLock(path: string, timeoutMs: number, opts: LockOptions = {}): Promise<Lock | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lock = tryLock(path, opts);
    if (lock || Date.now() >= deadline) return lock;
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
  }
}
