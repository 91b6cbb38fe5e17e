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
import { JITTER } from './watch.js';

/** A fetch running longer than this (and an interval) is reported as stalled. */
const STALL_MIN_MS = 5_000;
/** ls-remotes per second a whole quiet fleet may cost the forge (see idlePollCapMs). */
export const IDLE_POLLS_PER_SECOND = 3;
/** The longest gap between two polls of a quiet host, whatever the fleet's size. */
export const MAX_IDLE_POLL_MS = 10 * 60_000;
const POLL_JITTER = 0.1;

/**
 * The longest gap between a quiet host's polls: the interval in a small fleet, and
 * fleetSize / IDLE_POLLS_PER_SECOND seconds in a large one (at most MAX_IDLE_POLL_MS), so a
 * fleet of 1,000 quiet hosts polls 3 times a second in all, not 33. Pure.
 */
export function idlePollCapMs(intervalMs: number, fleetSize: number): number {
  return Math.round(Math.max(intervalMs, Math.min(MAX_IDLE_POLL_MS, (fleetSize / IDLE_POLLS_PER_SECOND) * 1000)));
}

/**
 * The gap before the next poll. News (a new tip) brings it back to the interval; a quiet or
 * failed poll doubles it up to `capMs`, with ±10 % jitter so hosts that went quiet together
 * drift apart (and a forge that was down is not hit by the whole fleet at once). Pure.
 */
export function nextPollGapMs(gapMs: number, intervalMs: number, capMs: number, news: boolean, random: number): number {
  if (news || capMs <= intervalMs) return intervalMs;
  const doubled = Math.min(capMs, gapMs * 2) * (1 + POLL_JITTER * (2 * random - 1));
  return Math.round(Math.max(intervalMs, doubled));
}

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
  /** the fleet's size as last counted (fleet/size.ts): quiet polls back off up to idlePollCapMs */
  fleetSize?: () => number;
  /**
   * Given when the host has a push-triggered wake-up (./wake.ts): whether it is up. While it
   * is, news reaches this host through the mirror, so a poll that finds news does not end the
   * back-off (the forge is polled as if quiet). While it is down (or not yet up), quiet polls
   * do not back off: the remote is polled at the plain interval until the mirror answers.
   */
  wakeHealthy?: () => boolean;
  now?: () => number;
  random?: () => number;
}

export class LedgerFetch {
  private readonly flight: SingleFlight;
  private lastStart = -Infinity;
  private last: SyncResult | undefined;
  private readonly now: () => number;
  private gap: number;

  constructor(private readonly cfg: LedgerFetchConfig) {
    this.now = cfg.now ?? Date.now;
    this.gap = cfg.intervalMs;
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

  /** The current gap between polls: the interval, longer while a large fleet is quiet. */
  get pollGapMs(): number {
    return this.gap;
  }

  /**
   * Starts a fetch when one is due and none runs: half an interval since the last start, or,
   * while the remote is quiet in a large fleet, the backed-off gap (less half an interval, as
   * ticks come every interval; the whole gap while the wake path is up, as its news brings extra
   * ticks). `force` (this host just pushed) fetches now and ends a back-off.
   */
  kick(force = false): void {
    // While the wake path is up, its news wakes the loop between interval ticks: those extra
    // ticks must not make the remote's polls more frequent, so the whole gap must pass (less
    // the ticks' jitter).
    const healthy = this.cfg.wakeHealthy?.() ?? false;
    const due = Math.max(this.cfg.intervalMs / 2, healthy ? this.gap - this.cfg.intervalMs * JITTER : this.gap - this.cfg.intervalMs / 2);
    if (!force && this.now() - this.lastStart < due) return;
    if (force) this.gap = this.cfg.intervalMs;
    const started = this.flight.start(async () => {
      const before = this.last;
      const r = await syncClone(this.cfg.remote, this.cfg.dir, this.cfg.branch, this.cfg.run);
      this.last = r;
      const cap = idlePollCapMs(this.cfg.intervalMs, this.cfg.fleetSize?.() ?? 0);
      const healthy = this.cfg.wakeHealthy?.() ?? false;
      const news = r.fetched && !r.error && !healthy;
      // A host with a wake path that is down polls at the plain interval, quiet or not, so
      // propagation is the polling figure from the first ban on; failed polls still back off.
      if (this.cfg.wakeHealthy && !healthy && !r.error) this.gap = this.cfg.intervalMs;
      else this.gap = nextPollGapMs(this.gap, this.cfg.intervalMs, cap, news, (this.cfg.random ?? Math.random)());
      this.cfg.onResult?.(r);
      if (r.fetched || Boolean(r.error) !== Boolean(before?.error)) this.cfg.onNews();
    });
    if (started) this.lastStart = this.now();
  }

  /**
   * The wake path went down: its back-off no longer stands, so the next poll is due within an
   * interval (and at once when an interval has passed since the last), and the polls stay at
   * the interval until it is up again.
   */
  wakeDown(): void {
    this.gap = this.cfg.intervalMs;
    this.kick();
  }

  /** Waits (at most `ms`) for the running fetch: the first run of a host with no clone yet. */
  settle(ms: number): Promise<boolean> {
    return this.flight.settle(ms);
  }
}
