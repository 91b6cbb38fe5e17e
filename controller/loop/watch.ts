/**
 * The watch loop: run, sleep, run again. It wakes at the earlier of the next interval
 * (±10 % jitter so a fleet does not fetch in lockstep) and just after the next expiry
 * (so an entry leaves every firewall within moments of its `expires`). SIGTERM/SIGINT
 * end the loop after the current run; nothing is flushed: the firewall keeps the last
 * applied state, and the next start applies only the diff.
 */

/** How long after an expiry to wake, so `now` is safely past it (times have 1 s precision). */
export const EXPIRY_EPSILON_MS = 150;
export const JITTER = 0.1;
/** Never spin: the shortest sleep between runs. */
export const MIN_SLEEP_MS = 50;

/** Milliseconds until the next run. Pure; `random` in [0, 1). */
export function nextWakeMs(now: Date, intervalMs: number, nextExpiry: Date | undefined, random: number): number {
  const jittered = intervalMs * (1 + JITTER * (2 * random - 1));
  let wait = jittered;
  if (nextExpiry) wait = Math.min(wait, nextExpiry.getTime() - now.getTime() + EXPIRY_EPSILON_MS);
  return Math.max(MIN_SLEEP_MS, Math.round(wait));
}

export interface TickResult {
  nextExpiry?: Date;
}

/**
 * Ends the loop's current sleep early (a background fetch brought a new tip). A wake while
 * a tick runs is kept, so the next sleep returns at once: no news is lost between ticks.
 */
export class Waker {
  private pending = false;
  private listener: (() => void) | undefined;

  wake(): void {
    this.pending = true;
    this.listener?.();
  }

  /** Resolves after `ms`, at abort, or at a wake (also one that came before). */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    const inner = new AbortController();
    const onAbort = (): void => inner.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.listener = () => inner.abort();
    return sleep(ms, inner.signal).then(() => {
      signal.removeEventListener('abort', onAbort);
      this.listener = undefined;
      this.pending = false;
    });
  }
}

export interface WatchOptions {
  intervalMs: number;
  /** wakes the loop before its time (a new tip arrived in the background) */
  waker?: Waker;
  tick: () => Promise<TickResult>;
  /** aborting ends the loop after the current tick */
  signal: AbortSignal;
  now?: () => Date;
  random?: () => number;
  /** called with the chosen sleep, for logs */
  onSleep?: (ms: number) => void;
}

/** Runs `tick` until aborted. A tick that throws is the tick's problem: the loop goes on. */
export async function watchLoop(opts: WatchOptions): Promise<void> {
  const now = opts.now ?? (() => new Date());
  const random = opts.random ?? Math.random;
  while (!opts.signal.aborted) {
    let result: TickResult = {};
    try {
      result = await opts.tick();
    } catch {
      // tick() reports its own failures; the next interval retries.
    }
    if (opts.signal.aborted) break;
    const ms = nextWakeMs(now(), opts.intervalMs, result.nextExpiry, random());
    opts.onSleep?.(ms);
    await (opts.waker ? opts.waker.sleep(ms, opts.signal) : sleep(ms, opts.signal));
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
