/**
 * The watch loop's fetch, beside the runs instead of before them. Each tick that is due
 * starts one `ls-remote`/`fetch` (bounded by their git timeouts) in the background and runs
 * at once on what the clone holds; when a fetch brings a new tip, the loop is woken to
 * enforce it. So a remote that stalls delays news from the ledger, never an expiry.
 */
import { syncClone, type SyncResult } from '../git/clone.js';
import type { Runner } from '../lib/exec.js';
import { TransientError } from '../lib/errors.js';
import { SingleFlight } from './background.js';

/** A fetch running longer than this (and an interval) is reported as stalled. */
const STALL_MIN_MS = 5_000;

export interface LedgerFetchConfig {
  remote: string;
  dir: string;
  branch: string;
  run: Runner;
  /** how often a fetch is due (the watch interval) */
  intervalMs: number;
  /** a fetch brought a new tip (or failed after succeeding): run again now */
  onNews: () => void;
  onResult?: (r: SyncResult) => void;
  now?: () => number;
}

export class LedgerFetch {
  private readonly flight: SingleFlight;
  private lastStart = -Infinity;
  private last: SyncResult | undefined;
  private readonly now: () => number;

  constructor(private readonly cfg: LedgerFetchConfig) {
    this.now = cfg.now ?? Date.now;
    this.flight = new SingleFlight();
  }

  /**
   * What the run reports as PullFailed: the last finished fetch's failure, or a fetch that has
   * been waiting for an answer longer than an interval (a stall is news before its timeout).
   */
  get lastError(): TransientError | undefined {
    const since = this.flight.startedAt;
    if (since !== undefined && this.now() - since > Math.max(this.cfg.intervalMs, STALL_MIN_MS)) {
      return new TransientError('E_FETCH_STALLED', `git fetch from the remote has had no answer for ${Math.round((this.now() - since) / 1000)} s`);
    }
    return this.last?.error;
  }

  get busy(): boolean {
    return this.flight.busy;
  }

  /** Starts a fetch when one is due (half an interval since the last start) and none runs. */
  kick(force = false): void {
    if (!force && this.now() - this.lastStart < this.cfg.intervalMs / 2) return;
    const started = this.flight.start(async () => {
      const before = this.last;
      const r = await syncClone(this.cfg.remote, this.cfg.dir, this.cfg.branch, this.cfg.run);
      this.last = r;
      this.cfg.onResult?.(r);
      if (r.fetched || Boolean(r.error) !== Boolean(before?.error)) this.cfg.onNews();
    });
    if (started) this.lastStart = this.now();
  }

  /** Waits (at most `ms`) for the running fetch: the first run of a host with no clone yet. */
  settle(ms: number): Promise<boolean> {
    return this.flight.settle(ms);
  }
}
