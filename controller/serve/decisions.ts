/**
 * CrowdSec's decisions stream, as its Local API answers `GET /v1/decisions/stream` (the
 * handler `StreamDecision` in crowdsec pkg/apiserver/controllers/v1/decisions.go, read by
 * go-cs-bouncer's StreamBouncer): `{"new": [...], "deleted": [...]}`, each a Decision
 * `{id, origin, scenario, scope, value, type, duration, until}`. With `startup=true` a
 * bouncer gets every active decision; afterwards only what is new or deleted since its own
 * last pull. CrowdSec remembers the last pull per bouncer in its database; here the
 * per-bouncer state is what that bouncer was sent (./bouncer-state.ts), so the next answer is
 * the difference between it and the served set, and a restart of serve loses nothing. Pure.
 *
 * A ledger ban becomes one decision: scope `Ip` for one address, `Range` for a network,
 * type `ban`, a duration counting down to the ledger's expiry. Two things the ledger has and
 * the bouncers' kernel sets do not are bridged here:
 *  - permanent bans and very long TTLs: ipset takes at most 2147483 s per entry, and the
 *    firewall bouncer caps a longer duration there. Durations are sent capped at MAX_DURATION
 *    and such a decision is sent again (deleted, then new) before the cap runs out;
 *  - ranges: crowdsec-firewall-bouncer 0.0.25 in nftables mode puts a Range into its set as
 *    the network address alone (203.0.113.0/24 → 203.0.113.0). A key with `expandRanges: N`
 *    gets every Range of at most N addresses as one Ip decision per address instead.
 */
import { parseCidrCached, formatCidr, FAMILY_BITS } from '../net/cidr.js';
import type { DesiredEntry } from '../targets/types.js';

export interface Decision {
  id: number;
  origin: string;
  scenario: string;
  scope: 'Ip' | 'Range';
  value: string;
  type: 'ban';
  duration: string;
  until: string;
}

export interface StreamResponse {
  new: Decision[];
  deleted: Decision[];
}

/** One decision as this bouncer was sent it. */
export interface Delivered {
  id: number;
  scope: 'Ip' | 'Range';
  scenario: string;
  /** the ledger's expiry, ms since the epoch; 0 = permanent */
  expires: number;
  /** the end of the duration sent, ms since the epoch */
  until: number;
}

export interface BouncerState {
  version: 1;
  nextId: number;
  /** RFC 3339: the last pull that changed something */
  lastPull?: string;
  /** decision value → what was sent */
  delivered: Record<string, Delivered>;
}

export const ORIGIN = 'fail2git';
/** the longest duration sent (ipset's limit is 2147483 s, about 24.8 days) */
export const MAX_DURATION_MS = 20 * 86_400_000;
/** a capped decision is sent again when less than this is left of what was sent */
export const REFRESH_BEFORE_MS = 10 * 86_400_000;

export function emptyState(): BouncerState {
  return { version: 1, nextId: 1, delivered: {} };
}

interface Wanted {
  scope: 'Ip' | 'Range';
  scenario: string;
  expires: number;
}

/** The decisions the served set asks for, by value. `expandRanges`: see the file comment. Pure. */
export function wantedDecisions(entries: readonly DesiredEntry[], expandRanges = 0): Map<string, Wanted> {
  const out = new Map<string, Wanted>();
  const put = (value: string, w: Wanted): void => {
    const had = out.get(value);
    // Overlapping bans (an address inside a banned range): the one that lasts longer wins.
    if (!had || (had.expires !== 0 && (w.expires === 0 || w.expires > had.expires))) out.set(value, w);
  };
  for (const e of entries) {
    const expires = e.expires === undefined ? 0 : Date.parse(e.expires);
    const scenario = `fail2git/${e.jail ?? 'manual'}`;
    const c = parseCidrCached(e.cidr);
    if (c instanceof Error) continue;
    const hostBits = FAMILY_BITS[c.family] - c.prefix;
    if (hostBits === 0) {
      put(c.key, { scope: 'Ip', scenario, expires });
      continue;
    }
    if (expandRanges > 0 && hostBits <= 16 && 2 ** hostBits <= expandRanges) {
      const n = 2 ** hostBits;
      for (let i = 0; i < n; i++) put(formatCidr(c.family, c.addr + BigInt(i), FAMILY_BITS[c.family]), { scope: 'Ip', scenario, expires });
      continue;
    }
    put(c.key, { scope: 'Range', scenario, expires });
  }
  return out;
}

/**
 * The stream's filters as go-cs-bouncer sends them (`scopes`, `origins`, `scenarios_containing`,
 * `scenarios_not_containing`; comma-separated, case-insensitive): what a bouncer configured
 * with them asks for. Without `scopes` the LAPI answers Ip and Range, as here. Pure.
 */
export function filterWanted(wanted: ReadonlyMap<string, Wanted>, params: URLSearchParams): Map<string, Wanted> {
  const list = (k: string) => params.get(k)?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const scopes = list('scopes');
  const origins = list('origins');
  const containing = list('scenarios_containing');
  const notContaining = list('scenarios_not_containing');
  const out = new Map<string, Wanted>();
  if (origins && !origins.includes(ORIGIN)) return out;
  for (const [value, w] of wanted) {
    const scenario = w.scenario.toLowerCase();
    if (scopes && !scopes.includes(w.scope.toLowerCase())) continue;
    if (containing && !containing.some((s) => scenario.includes(s))) continue;
    if (notContaining && notContaining.some((s) => scenario.includes(s))) continue;
    out.set(value, w);
  }
  return out;
}

/**
 * The answer to one pull and the bouncer's state after it. `startup`: everything wanted is
 * new (and what this bouncer was sent that is no longer wanted is deleted: a firewall bouncer
 * keeps its nftables set across its own restarts). Pure.
 */
export function streamDelta(state: BouncerState, wanted: ReadonlyMap<string, Wanted>, now: Date, startup: boolean): { response: StreamResponse; state: BouncerState; changed: boolean } {
  const nowMs = now.getTime();
  const next: BouncerState = { version: 1, nextId: state.nextId, delivered: {} };
  if (state.lastPull) next.lastPull = state.lastPull;
  const response: StreamResponse = { new: [], deleted: [] };
  const send = (value: string, w: Wanted): void => {
    const until = w.expires === 0 ? nowMs + MAX_DURATION_MS : Math.min(w.expires, nowMs + MAX_DURATION_MS);
    const d: Delivered = { id: next.nextId++, scope: w.scope, scenario: w.scenario, expires: w.expires, until };
    next.delivered[value] = d;
    response.new.push(decision(value, d, nowMs));
  };
  for (const [value, d] of Object.entries(state.delivered)) {
    const w = wanted.get(value);
    const stale = !w || w.expires !== d.expires || w.scope !== d.scope;
    const refresh = !stale && d.until !== d.expires && d.until - nowMs < REFRESH_BEFORE_MS;
    if (stale || refresh || startup) {
      // On startup a value still wanted is simply sent again as new.
      if (stale || refresh) response.deleted.push(decision(value, d, nowMs));
      if (w) send(value, w);
    } else {
      next.delivered[value] = d;
    }
  }
  for (const [value, w] of wanted) if (!(value in state.delivered)) send(value, w);
  const changed = response.new.length > 0 || response.deleted.length > 0 || next.nextId !== state.nextId;
  if (changed) next.lastPull = now.toISOString();
  return { response, state: next, changed };
}

/**
 * `GET /v1/decisions?ip=` for bouncers in live mode (CrowdSec's `GetDecision`): the decisions
 * whose value contains the address (or, for `range=`, overlaps the range), with ids by value
 * order (no pull state: a live bouncer only caches the answer). Pure.
 */
export function liveDecisions(wanted: ReadonlyMap<string, Wanted>, now: Date, matches: (value: string) => boolean): Decision[] {
  const nowMs = now.getTime();
  const out: Decision[] = [];
  let id = 0;
  for (const [value, w] of wanted) {
    id++;
    if (!matches(value)) continue;
    const until = w.expires === 0 ? nowMs + MAX_DURATION_MS : Math.min(w.expires, nowMs + MAX_DURATION_MS);
    out.push(decision(value, { id, scope: w.scope, scenario: w.scenario, expires: w.expires, until }, nowMs));
  }
  return out;
}

function decision(value: string, d: Delivered, nowMs: number): Decision {
  return {
    id: d.id, origin: ORIGIN, scenario: d.scenario, scope: d.scope, value, type: 'ban',
    duration: goDuration(Math.max(0, d.until - nowMs)), until: new Date(d.until).toISOString(),
  };
}

/** A duration as Go's time.Duration prints it (`1h2m3.5s`, `0s`), which bouncers parse. Pure. */
export function goDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const whole = Math.floor(ms / 1000);
  const frac = ms % 1000;
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const sec = frac ? `${s}.${String(frac).padStart(3, '0').replace(/0+$/, '')}s` : `${s}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  if (whole === 0) return `${frac}ms`;
  return sec;
}
