/**
 * serve's read mirror (docs/serve.md "Mirror"): one process polls the remote every
 * `serve.mirror.interval` (one `ls-remote`, a fetch only when the tip moved, controller/git/
 * mirror.ts) so a site's hosts need not, and tells every long-polling host at once when the
 * tip moves. A forge webhook only makes it poll now. It is never trusted more than the remote:
 * hosts fast-forward to what it brings and check every commit as they would the remote's.
 */
import { pollMirror, ensureMirrorRepo, mirrorLocalTip } from '../git/mirror.js';
import { TransientError, errorMessage } from '../lib/errors.js';
import type { Runner } from '../lib/exec.js';
import type { Logger } from '../lib/log.js';

/** Pokes (webhooks) closer together than this share one poll. */
const MIN_POKE_GAP_MS = 250;
/** A failed poll is retried after the interval doubled, up to this. */
const MAX_RETRY_MS = 30_000;

/**
 * When the mirror's answers stop being news: its last good poll is older than this many
 * intervals (at least STALE_MIN_MS). Hosts then poll the remote at their plain interval.
 */
export const STALE_INTERVALS = 10;
const STALE_MIN_MS = 30_000;

export function staleAfterMs(intervalMs: number): number {
  return Math.max(STALE_MIN_MS, STALE_INTERVALS * intervalMs);
}

export interface MirrorOptions {
  remote: string;
  dir: string;
  branch: string;
  intervalMs: number;
  run: Runner;
  log: Logger;
  now?: () => number;
}

export interface MirrorTip {
  branch: string;
  /** undefined until the first fetch */
  tip: string | undefined;
  /** the last poll that reached the remote (ms since the epoch); undefined = never */
  polledAt: number | undefined;
  /** the mirror has not reached the remote for staleAfterMs */
  stale: boolean;
}

export class LedgerMirror {
  private tipNow: string | undefined;
  private lastOk: number | undefined;
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastStart = -Infinity;
  private delayMs: number;
  private readonly waiters = new Set<(tip: string | undefined) => void>();
  private readonly now: () => number;
  /** polls made (each one ls-remote at the remote), fetches made: for logs and the bench */
  readonly counts = { polls: 0, fetches: 0, failures: 0 };

  constructor(private readonly opts: MirrorOptions) {
    this.now = opts.now ?? Date.now;
    this.delayMs = opts.intervalMs;
  }

  /** Creates the repository if needed, reads its tip, and starts polling (the first poll at once). */
  async start(): Promise<void> {
    await ensureMirrorRepo(this.opts.remote, this.opts.dir, this.opts.branch, this.opts.run);
    this.tipNow = await mirrorLocalTip(this.opts.dir, this.opts.branch, this.opts.run);
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const w of [...this.waiters]) w(this.tipNow);
    this.waiters.clear();
  }

  get state(): MirrorTip {
    const stale = this.lastOk === undefined || this.now() - this.lastOk > staleAfterMs(this.opts.intervalMs);
    return { branch: this.opts.branch, tip: this.tipNow, polledAt: this.lastOk, stale };
  }

  /** Poll now (a webhook said the remote moved); pokes in a burst share one poll. */
  poke(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    this.schedule(Math.max(0, this.lastStart + MIN_POKE_GAP_MS - this.now()));
  }

  /**
   * Resolves with the mirror's tip as soon as it differs from `known`, else when it changes or
   * after `ms` (then with the same tip), or when `signal` aborts (the client went away).
   */
  waitForChange(known: string | undefined, ms: number, signal?: AbortSignal): Promise<string | undefined> {
    if (this.tipNow !== undefined && this.tipNow !== known) return Promise.resolve(this.tipNow);
    if (this.stopped || signal?.aborted) return Promise.resolve(this.tipNow);
    return new Promise((resolve) => {
      const done = (tip: string | undefined): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', onAbort);
        resolve(tip);
      };
      const onAbort = (): void => done(this.tipNow);
      const timer = setTimeout(() => done(this.tipNow), ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Hosts holding a long-poll right now. */
  get waiting(): number {
    return this.waiters.size;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.polling) return;
    this.lastStart = this.now();
    this.again = false;
    this.polling = this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    await this.polling;
    if (this.again) this.schedule(Math.max(0, this.lastStart + MIN_POKE_GAP_MS - this.now()));
    else this.schedule(this.delayMs);
  }

  private async pollOnce(): Promise<void> {
    this.counts.polls++;
    try {
      const r = await pollMirror(this.opts.dir, this.opts.branch, this.opts.run);
      this.lastOk = this.now();
      this.delayMs = this.opts.intervalMs;
      if (this.failing) this.opts.log.info('mirror.recovered', { tip: r.tip ?? null });
      this.failing = false;
      if (r.moved) this.counts.fetches++;
      if (r.tip !== this.tipNow) {
        this.tipNow = r.tip;
        this.opts.log.info('mirror.tip', { tip: r.tip ?? null, waiting: this.waiters.size });
        for (const w of [...this.waiters]) w(r.tip);
      }
    } catch (err) {
      this.counts.failures++;
      this.delayMs = Math.min(MAX_RETRY_MS, Math.max(this.opts.intervalMs, this.delayMs * 2));
      // One line per failure streak: a remote that is down is not news every interval.
      if (!this.failing) this.opts.log.warn('mirror.poll-failed', { code: err instanceof TransientError ? err.code : 'E_FETCH_FAILED', error: errorMessage(err) });
      this.failing = true;
    }
  }
}
