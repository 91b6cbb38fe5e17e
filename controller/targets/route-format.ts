/**
 * Pure text for the `route` driver: reading `ip -j route show proto N type blackhole` and
 * writing one `ip -batch` script. A route is ours exactly when it carries our proto number.
 */
import { Fail2gitError } from '../lib/errors.js';
import type { ObservedEntry, Plan } from './types.js';
import { cidrKey } from '../net/cidr.js';

/** Not listed in iproute2's rt_protos; any unused number (or a name added there) works. */
export const DEFAULT_PROTO = '250';

/** Kernel-reserved protos: owning "static" or "kernel" routes would mean touching everyone's. */
const RESERVED = new Map<string, string>([
  ['0', 'unspec'], ['1', 'redirect'], ['2', 'kernel'], ['3', 'boot'], ['4', 'static'],
]);

/** A proto the driver may own: 5-255, or a name from rt_protos that is not a reserved one. */
export function checkProto(proto: string): string | undefined {
  if (/^[0-9]+$/.test(proto)) {
    const n = Number(proto);
    if (n > 255) return 'must be 5-255';
    if (RESERVED.has(String(n))) return `${n} (${RESERVED.get(String(n))}) is reserved by the kernel; fail2git would own other routes`;
    return undefined;
  }
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(proto)) return 'must be a number 5-255 or a name from /etc/iproute2/rt_protos';
  if ([...RESERVED.values()].includes(proto)) return `${proto} is reserved by the kernel; fail2git would own other routes`;
  return undefined;
}

export interface RouteRecord {
  dst?: string;
  type?: string;
  metric?: number;
}

/** A route with our proto that is not a blackhole (unreachable, prohibit, a unicast route…). */
export interface WrongTypeRoute {
  cidr: string;
  /** `unreachable`, `prohibit`, `unicast`, … */
  type: string;
  metric?: number;
}

export interface ParsedRoutes {
  entries: ObservedEntry[];
  /** routes with our proto that are not a ban fail2git can express (e.g. `default`) */
  strange: string[];
  /** routes with our proto to a network, of another type than blackhole */
  wrongType: WrongTypeRoute[];
}

export function parseIpRouteJson(text: string): ParsedRoutes {
  const out: ParsedRoutes = { entries: [], strange: [], wrongType: [] };
  if (text.trim() === '') return out;
  let routes: unknown;
  try {
    routes = JSON.parse(text);
  } catch {
    throw unexpectedListing(`something that is not JSON (${JSON.stringify(text.trim().slice(0, 60))})`);
  }
  if (!Array.isArray(routes)) throw unexpectedListing(`${routes === null ? 'null' : typeof routes} where a list of routes belongs`);
  for (const item of routes as unknown[]) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw unexpectedListing(`a route that is ${item === null ? 'null' : Array.isArray(item) ? 'a list' : typeof item}, not a JSON object`);
    const r = item as RouteRecord;
    if (!r.dst) continue;
    if (typeof r.dst !== 'string') throw unexpectedListing(`a route whose "dst" is ${Array.isArray(r.dst) ? 'a list' : typeof r.dst}, not a string`);
    if (r.type !== undefined && typeof r.type !== 'string') throw unexpectedListing(`the route to ${r.dst} with a "type" that is not a string`);
    try {
      const c = cidrKey(r.dst);
      if (r.type === 'blackhole') out.entries.push({ cidr: c.key, family: c.family });
      else out.wrongType.push({ cidr: c.key, type: r.type ?? 'unicast', ...(typeof r.metric === 'number' && { metric: r.metric }) });
    } catch {
      out.strange.push(r.dst);
    }
  }
  return out;
}

/** Wrapped by the driver's guarded() into the target's E_TARGET_IO line. */
function unexpectedListing(what: string): Fail2gitError {
  return new Fail2gitError('E_TARGET_IO', `ip -j route printed ${what}`);
}

/**
 * One batch for both families (ip infers the family from each address). Deletes first. An
 * add where a route of ours of another type sits (`unreachable`, a unicast route) replaces it
 * in one netlink step, naming its metric so that only that route can match.
 */
export function renderRouteBatch(plan: Plan, proto: string, wrongType: readonly WrongTypeRoute[] = []): string[] {
  const wrong = new Map(wrongType.map((w) => [w.cidr, w]));
  return [
    ...plan.remove.map((e) => `route del blackhole ${e.cidr} proto ${proto}`),
    ...plan.add.map((e) => {
      const w = wrong.get(e.cidr);
      if (!w) return `route add blackhole ${e.cidr} proto ${proto}`;
      return `route replace blackhole ${e.cidr} proto ${proto}${w.metric !== undefined ? ` metric ${w.metric}` : ''}`;
    }),
  ];
}

/** Turns ip's "Command failed -:N" lines back into the batch lines that failed. */
export function failedBatchLines(stderr: string, lines: readonly string[]): string[] {
  const out: string[] = [];
  const reasons = stderr.split('\n');
  for (let i = 0; i < reasons.length; i++) {
    const m = /^Command failed -:(\d+)/.exec(reasons[i] ?? '');
    if (!m) continue;
    const why = (reasons[i - 1] ?? '').replace(/^RTNETLINK answers: /, '').trim();
    out.push(`${lines[Number(m[1]) - 1] ?? `line ${m[1]}`} (${why || 'failed'})`);
  }
  return out;
}
