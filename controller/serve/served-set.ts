/**
 * What `fail2git serve` serves: the enforceable set of the last good commit this host
 * accepted (controller/reconcile/last-good.ts), never the unverified tip. The reconciler
 * decides which commit is good (signatures, signer roles, the guard's limits) and caches that
 * commit's desired set (controller/desired/cache.ts); serve reads the same two files, so what
 * a bouncer enforces is what this host's own targets enforce. When the cache is missing or
 * names another commit, the last good commit is read from the clone and its desired set
 * computed (controller/desired/desired-set.ts). serve never writes either file.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { readLastGood, type LastGood } from '../reconcile/last-good.js';
import { liveFromCache, readDesiredCache, type DesiredCache } from '../desired/cache.js';
import { desiredSet } from '../desired/desired-set.js';
import type { DesiredEntry } from '../targets/types.js';
import type { Ledger } from '../ledger/types.js';
import { Fail2gitError } from '../lib/errors.js';

export interface ServedSet {
  /** the last good commit; undefined before the reconciler accepted any */
  rev?: string;
  acceptedAt?: string;
  entries: DesiredEntry[];
  /** the earliest expiry among entries: when the set changes next on its own */
  nextExpiry?: Date;
}

/** How long a newly accepted commit may go without its desired-set cache before serve computes the set itself. */
export const SETTLE_MS = 60_000;

/** Reads the last good commit's set from stateDir, re-reading files only when they change. */
export class ServedSetReader {
  private lastGood?: LastGood | undefined;
  private lastGoodStamp = '';
  private cache?: DesiredCache | undefined;
  private cacheStamp = '';
  private computed?: { rev: string; ledger: Ledger } | undefined;
  /** the last cache that answered (the set enforced before a newly accepted commit) */
  private previous?: DesiredCache | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly loadLedger: (rev: string) => Promise<Ledger | undefined>,
  ) {}

  async at(now: Date): Promise<ServedSet> {
    const lgStamp = stamp(join(this.stateDir, 'last-good.json'));
    if (lgStamp !== this.lastGoodStamp) {
      this.lastGood = readLastGood(this.stateDir);
      this.lastGoodStamp = lgStamp;
    }
    const lg = this.lastGood;
    if (!lg) return { entries: [] };
    const cStamp = stamp(join(this.stateDir, 'desired-cache.json'));
    if (cStamp !== this.cacheStamp || this.cache?.rev !== lg.rev) {
      this.cache = readDesiredCache(this.stateDir, lg.rev);
      this.cacheStamp = cStamp;
    }
    const base = { rev: lg.rev, acceptedAt: lg.acceptedAt };
    if (this.cache && now.getTime() >= this.cache.computedAt) {
      this.previous = this.cache;
      const live = liveFromCache(this.cache, now);
      return { ...base, entries: live.entries, ...(live.nextExpiry && { nextExpiry: live.nextExpiry }) };
    }
    // A commit just accepted: the reconciler writes its desired set (with this host's protected
    // addresses and the guard's limits) moments later in the same run. Until then the set
    // enforced before is served, for at most SETTLE_MS.
    const prev = this.previous;
    if (prev && now.getTime() >= prev.computedAt && now.getTime() - Date.parse(lg.acceptedAt) < SETTLE_MS) {
      const live = liveFromCache(prev, now);
      return { rev: prev.rev, entries: live.entries, ...(live.nextExpiry && { nextExpiry: live.nextExpiry }) };
    }
    if (this.computed?.rev !== lg.rev) {
      const ledger = await this.loadLedger(lg.rev);
      if (!ledger) throw new Fail2gitError('E_LAST_GOOD', `the last good commit ${lg.rev.slice(0, 12)} cannot be read from the clone`);
      this.computed = { rev: lg.rev, ledger };
    }
    const d = desiredSet(this.computed.ledger, now);
    return { ...base, entries: d.entries, ...(d.nextExpiry && { nextExpiry: d.nextExpiry }) };
  }
}

function stamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return 'absent';
  }
}
