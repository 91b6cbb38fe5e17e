/**
 * The fleet page's data: the served set (filtered), the fleet's status records (read in the
 * background every `fleetRefresh`, never on a page load once read), the chart from the ledger's
 * history, and one address's receipts and audit timeline. Everything is read at the last good
 * commit; each part is cached, so a request storm costs little more than rendering.
 */
import { ledgerClonePath, type HostConfig, type ServeConfig } from '../config/host-config.js';
import { parseDuration, formatTime } from '../lib/duration.js';
import { errorMessage } from '../lib/errors.js';
import { cidrOverlaps, tryParseCidr } from '../net/cidr.js';
import { readFleet, ancestryIn, type FleetView } from '../fleet/remote.js';
import { observe, readObserved, writeObserved, type Observed } from '../fleet/observed.js';
import { receiptsFor } from '../fleet/receipts.js';
import { readPerHour, type HourBucket } from '../audit/per-hour.js';
import type { DesiredEntry } from '../targets/types.js';
import type { ServedSetReader } from './served-set.js';
import type { PageRequest, ServeRunDeps } from './types.js';
import { MAX_ROWS, renderPage, type BanFilters, type PageModel } from './page.js';

export const CHART_HOURS = 72;
const DETAIL_CACHE = 32;
const DETAIL_TTL_MS = 10_000;

/** The fleet's records, refreshed in the background; the page reads the last copy. */
export class FleetCache {
  view?: FleetView;
  error?: string;
  readAt?: string;
  private running?: Promise<void> | undefined;
  private timer?: NodeJS.Timeout;
  private observed: Observed;

  constructor(private readonly cfg: HostConfig, private readonly everyMs: number, private readonly deps: ServeRunDeps) {
    this.observed = readObserved(cfg.stateDir);
  }

  /** Reads now (one at a time) and then every `everyMs`. */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.refresh(), this.everyMs);
    this.timer.unref();
    return this.refresh();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  observations(): Observed {
    return this.observed;
  }

  refresh(): Promise<void> {
    this.running ??= (async () => {
      try {
        const now = this.deps.now();
        this.view = await readFleet({ remote: this.cfg.remote, branch: this.cfg.branch, stateDir: this.cfg.stateDir }, now);
        this.readAt = formatTime(now);
        delete this.error;
        if (observe(this.observed, this.view.hosts, now)) writeObserved(this.cfg.stateDir, this.observed);
      } catch (err) {
        this.error = errorMessage(err);
        this.deps.log.warn('serve.fleet-failed', { error: this.error });
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}

/** Bans that pass the page's filters. Pure. */
export function filterBans(entries: readonly DesiredEntry[], f: BanFilters, now: Date): { rows: DesiredEntry[]; error?: string } {
  let rows = [...entries];
  let error: string | undefined;
  if (f.address) {
    const q = tryParseCidr(f.address);
    rows = q instanceof Error ? rows.filter((e) => e.cidr.includes(f.address!)) : rows.filter((e) => {
      const c = tryParseCidr(e.cidr);
      return !(c instanceof Error) && cidrOverlaps(c, q);
    });
  }
  if (f.jail) rows = rows.filter((e) => (e.jail ?? 'manual').toLowerCase() === f.jail!.toLowerCase());
  if (f.host) rows = rows.filter((e) => e.by === f.host);
  if (f.expiring) {
    try {
      const until = now.getTime() + parseDuration(f.expiring);
      rows = rows.filter((e) => e.expires !== undefined && Date.parse(e.expires) <= until);
    } catch {
      error = `"expiring within" ${JSON.stringify(f.expiring.slice(0, 32))} is not a duration like 1h`;
    }
  }
  return error ? { rows, error } : { rows };
}

export function pageRenderer(cfg: HostConfig, serve: ServeConfig, served: ServedSetReader, deps: ServeRunDeps): { render: (req: PageRequest) => Promise<string>; fleet: FleetCache } {
  const clone = ledgerClonePath(cfg);
  const fleet = new FleetCache(cfg, parseDuration(serve.fleetRefresh), deps);
  const isAncestor = ancestryIn(cfg.stateDir);
  let chart: { key: string; buckets: Promise<HourBucket[]> } | undefined;
  const details = new Map<string, { at: number; value: Promise<NonNullable<PageModel['detail']>> }>();

  const chartFor = (rev: string, now: Date): Promise<HourBucket[]> => {
    const key = `${rev} ${Math.floor(now.getTime() / 60_000)}`;
    if (chart?.key !== key) chart = { key, buckets: readPerHour(clone, rev, now, CHART_HOURS) };
    return chart.buckets;
  };

  const detailFor = (rev: string, query: string, now: Date): Promise<NonNullable<PageModel['detail']>> => {
    const key = `${rev} ${query} ${fleet.readAt ?? ''}`;
    const hit = details.get(key);
    if (hit && now.getTime() - hit.at < DETAIL_TTL_MS) return hit.value;
    const value = (async (): Promise<NonNullable<PageModel['detail']>> => {
      const q = tryParseCidr(query);
      if (q instanceof Error) return { query, error: `${JSON.stringify(query.slice(0, 64))} is not an address or CIDR` };
      try {
        const { auditAddress } = await import('../audit/history.js');
        const report = await auditAddress(q.key, { repoDir: clone, rev, deepen: false });
        const receipts = await receiptsFor(report, fleet.view?.hosts ?? [], fleet.observations(), isAncestor, now);
        return { query: q.key, receipts, events: report.events, ...(report.historyMissing && { historyMissing: report.historyMissing }) };
      } catch (err) {
        return { query: q.key, error: errorMessage(err) };
      }
    })();
    details.set(key, { at: now.getTime(), value });
    while (details.size > DETAIL_CACHE) details.delete(details.keys().next().value!);
    return value;
  };

  const render = async (req: PageRequest): Promise<string> => {
    const { now, query } = req;
    const set = await served.at(now);
    const text = (k: string) => (query.get(k) ?? '').trim().slice(0, 200) || undefined;
    const filters: BanFilters = {};
    for (const k of ['address', 'jail', 'host', 'expiring'] as const) {
      const v = text(k);
      if (v) filters[k] = v;
    }
    const f = filterBans(set.entries, filters, now);
    const model: PageModel = {
      host: cfg.host, now, served: { ...(set.rev && { rev: set.rev }), ...(set.acceptedAt && { acceptedAt: set.acceptedAt }), total: set.entries.length },
      filters, bans: f.rows.slice(0, MAX_ROWS), matched: f.rows.length, chart: [],
      ...(f.error && { filterError: f.error }),
      ...(fleet.view && { fleet: fleet.view }), ...(fleet.error && { fleetError: fleet.error }), ...(fleet.readAt && { fleetReadAt: fleet.readAt }),
    };
    if (set.rev) {
      try {
        model.chart = await chartFor(set.rev, now);
      } catch (err) {
        model.chartError = `history cannot be read: ${errorMessage(err)}`;
      }
      // One address: receipts and timeline (a single address filter asks for them too).
      const one = text('address');
      if (one && !(tryParseCidr(one) instanceof Error)) model.detail = await detailFor(set.rev, one, now);
    }
    return renderPage(model);
  };
  return { render, fleet };
}
