/**
 * The resident flusher (`fail2git flush --watch`): waits on the spool directory (inotify,
 * with a slow poll behind it) and flushes as soon as something lands there, so the action
 * line fail2ban runs only writes a record and returns. One per host: `stateDir/watch.lock`
 * (`PID TIME`, renewed every minute) says which process it is; the action line reads it to
 * decide whether to start one (`--idle-exit`: it leaves again after that long with nothing
 * to do). `deploy/systemd/fail2git-flush.service` runs one for good.
 *
 * Its absence loses nothing: records wait in the spool for the next hook (which starts one),
 * `fail2git flush`, a reconcile tick or a timer. While it flushes, it holds the ordinary
 * flush lock only for the rounds, so people's `fail2git flush`/`ban` never wait on it.
 */
import { mkdirSync, rmSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { HostConfig } from '../controller/config/host-config.js';
import { spoolPath } from '../controller/config/host-config.js';
import { errorMessage } from '../controller/lib/errors.js';
import { tryLock, watchLockPath, watchStartPath, type Lock } from '../controller/lib/lock.js';
import { flushSpool, pendingOperations, type FlushOptions } from './flush.js';

export interface WatchOptions extends Pick<FlushOptions, 'run' | 'batchDelayMs' | 'maxBatchDelayMs'> {
  /** leave after this long with an empty spool and nothing flushed; default: never */
  idleExitMs?: number;
  /** look at the spool this often even without a file event; default 30 s */
  pollMs?: number;
  /** gather this long after the first event before the first round; default 50 ms */
  gatherMs?: number;
  log?: (line: string) => void;
  /** run at least this nice (its git children too), so fail2ban's own work comes first; default 10 */
  nice?: number;
  /** resolves when the watcher should stop (SIGTERM) */
  stop?: Promise<unknown>;
}

export interface WatchResult {
  /** another resident flusher already runs */
  busy: boolean;
  rounds: number;
}

/**
 * A storm is when the flusher competes with fail2ban for the CPU: fail2ban's jail thread
 * waits for every action line, the flusher's commits can wait. So the resident flusher (and
 * the git processes it starts) runs at a lower priority. Never raises it; best effort.
 */
function lowerPriority(nice: number): void {
  try {
    if (getPriority() < nice) setPriority(Math.min(19, nice));
  } catch {
    /* not allowed here: run as we are */
  }
}

/** Runs until `stop` resolves or, with `idleExitMs`, until idle that long. */
export async function watchSpool(cfg: HostConfig, opts: WatchOptions = {}): Promise<WatchResult> {
  mkdirSync(spoolPath(cfg), { recursive: true, mode: 0o750 });
  const lock: Lock | null = tryLock(watchLockPath(cfg.stateDir));
  if (!lock) return { busy: true, rounds: 0 };
  // Whoever started us marked it (watch.start); the lock says it from now on.
  rmSync(watchStartPath(cfg.stateDir), { force: true });
  lowerPriority(opts.nice ?? 10);
  const log = opts.log ?? (() => undefined);
  const pollMs = opts.pollMs ?? 30_000;
  let rounds = 0;
  let dirty = true; // whatever waited before we started
  let wake: (() => void) | null = null;
  let lastActive = Date.now();
  let failures = 0;
  let lastError = '';
  const kick = () => {
    dirty = true;
    wake?.();
  };
  let watcher: FSWatcher | null = null;
  try {
    watcher = fsWatch(spoolPath(cfg), { persistent: true }, kick);
    watcher.on('error', () => {
      /* the poll still finds everything */
    });
  } catch (err) {
    log(`cannot watch ${spoolPath(cfg)} (${errorMessage(err)}); polling every ${pollMs / 1000} s`);
  }
  let stopped = false;
  void opts.stop?.then(() => {
    stopped = true;
    wake?.();
  });
  const refresh = setInterval(() => lock.refresh(), 60_000);
  refresh.unref();
  try {
    while (!stopped) {
      if (dirty) {
        dirty = false;
        if (opts.gatherMs !== 0) await new Promise((r) => setTimeout(r, opts.gatherMs ?? 50));
        try {
          const res = await flushSpool(cfg, {
            ...(opts.run ? { run: opts.run } : {}),
            ...(opts.batchDelayMs !== undefined ? { batchDelayMs: opts.batchDelayMs } : {}),
            ...(opts.maxBatchDelayMs !== undefined ? { maxBatchDelayMs: opts.maxBatchDelayMs } : {}),
            log,
          });
          rounds += res.commits.length;
          if (res.delivered > 0 || res.rejected.length > 0 || res.busy) lastActive = Date.now();
          if (failures > 0) log(`flush works again: delivered ${res.delivered}`);
          failures = 0;
          lastError = '';
          // Another flusher held the lock: it re-lists the spool before it lets go, but look again soon.
          if (res.busy) setTimeout(kick, 1000).unref();
        } catch (err) {
          failures++;
          lastActive = Date.now();
          const msg = errorMessage(err);
          if (msg !== lastError) log(`flush failed, operations wait in the spool: ${msg}`);
          lastError = msg;
          // The remote is down or the ledger invalid: retry with backoff (5 s … 5 min), or at the next record.
          setTimeout(kick, Math.min(300_000, 5000 * 2 ** Math.min(failures - 1, 6))).unref();
        }
        continue;
      }
      const idleLeft = opts.idleExitMs === undefined ? Infinity : lastActive + opts.idleExitMs - Date.now();
      if (idleLeft <= 0) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          dirty = true;
          resolve();
        }, Math.min(pollMs, idleLeft));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    clearInterval(refresh);
    watcher?.close();
    lock.release();
  }
  // A hook writes its record before it looks at our lock: anything it left while we were
  // letting go is here now, so deliver it rather than leave it for the next hook.
  if (pendingOperations(cfg).length > 0) {
    try {
      rounds += (await flushSpool(cfg, { log })).commits.length;
    } catch (err) {
      log(`flush failed, operations wait in the spool: ${errorMessage(err)}`);
    }
  }
  return { busy: false, rounds };
}
