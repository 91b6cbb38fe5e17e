/**
 * `route` driver: blackhole routes in the main table carrying the driver's own `proto`
 * number, so routes not made by fail2git are never touched (a delete names our proto and
 * the kernel refuses to match any other). Applied with one `ip -batch` for both families.
 */
import { TargetError } from '../lib/errors.js';
import { guarded } from './utils/failure.js';
import { MAX_ENTRIES, options } from './utils/options.js';
import { DEFAULT_PROTO, checkProto, failedBatchLines, parseIpRouteJson, renderRouteBatch, type WrongTypeRoute } from './route-format.js';
import type { ObservedEntry, Plan, Target, TargetFactory } from './types.js';
import { ExecError, type Runner } from '../lib/exec.js';

const DRIVER = 'route';

export interface RouteOptions {
  /** the routing protocol number (or rt_protos name) marking fail2git's routes. @default 250 */
  proto: string;
  /** at most this many routes; none by default */
  maxEntries?: number;
}

export function routeOptions(name: string, raw: Record<string, unknown>): RouteOptions {
  const o = options(name, DRIVER, raw).only(['proto', MAX_ENTRIES]);
  const maxEntries = o.maxEntries();
  const value = o.raw('proto') ?? DEFAULT_PROTO;
  const proto = typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
  if (typeof proto !== 'string') throw o.error('option proto must be a number 5-255 or a name from /etc/iproute2/rt_protos');
  const problem = checkProto(proto);
  if (problem) throw o.error(`option proto ${JSON.stringify(proto)}: ${problem}`);
  return { proto, ...(maxEntries !== undefined && { maxEntries }) };
}

export const createRoute: TargetFactory = (name, raw, deps) => {
  const { proto, maxEntries } = routeOptions(name, raw);
  const step = <T>(doing: string, fn: () => Promise<T>) => guarded(name, DRIVER, doing, fn);
  let strange: string[] = [];
  let wrongType: WrongTypeRoute[] = [];

  const observe = async (): Promise<ObservedEntry[]> => {
    const [v4, v6] = await Promise.all([readRoutes(deps.run, '-4', proto), readRoutes(deps.run, '-6', proto)]);
    strange = [...v4.strange, ...v6.strange];
    wrongType = [...v4.wrongType, ...v6.wrongType];
    return [...v4.entries, ...v6.entries];
  };

  return {
    name,
    driver: DRIVER,
    observe: () => step(`observing proto ${proto} blackhole routes`, observe),
    capacity: () => maxEntries,
    warnings: () => [
      ...strange.map((dst) => `route ${dst} has proto ${proto} but is not a ban fail2git can express; left alone`),
      ...wrongType.map((w) => `route ${w.cidr} has proto ${proto} but is ${w.type}, not blackhole; replaced when the ledger bans ${w.cidr}, else left alone`),
    ],
    apply: (plan: Plan) => step(`applying proto ${proto} blackhole routes`, async () => {
      // adding an existing route or deleting a missing one is an error for ip: act only on
      // the difference from what the kernel holds now, so replaying a plan is harmless
      const held = new Set((await observe()).map((e) => e.cidr));
      const lines = renderRouteBatch({
        add: plan.add.filter((e) => !held.has(e.cidr)),
        remove: plan.remove.filter((e) => held.has(e.cidr)),
      }, proto, wrongType);
      if (lines.length > 0) await runBatch(deps.run, name, lines);
      return { added: plan.add.length, removed: plan.remove.length };
    }),
  } satisfies Target;
};

// --- Internal helpers ---

async function readRoutes(run: Runner, family: '-4' | '-6', proto: string) {
  // every type: a blackhole is a ban, a route of another type with our proto is replaced when banned
  const { stdout } = await run('ip', ['-j', family, 'route', 'show', 'proto', proto], { timeoutMs: 300_000 });
  return parseIpRouteJson(stdout);
}

/**
 * -force keeps going past a failing line (typically a route to the same network that is not
 * ours: the kernel keys routes by destination, so ours cannot sit beside it), so one conflict
 * does not hold back every other ban; the failures are then reported together.
 */
async function runBatch(run: Runner, target: string, lines: string[]): Promise<void> {
  try {
    await run('ip', ['-force', '-batch', '-'], { input: lines.join('\n') + '\n', timeoutMs: 600_000 });
  } catch (err) {
    if (!(err instanceof ExecError) || err.code !== 'E_EXEC_FAILED') throw err;
    const failed = failedBatchLines(err.stderr, lines);
    if (failed.length === 0) throw err;
    const more = failed.length > 3 ? ` and ${failed.length - 3} more` : '';
    throw new TargetError(target, 'E_TARGET_IO',
      `target ${JSON.stringify(target)} (route): ${failed.length} of ${lines.length} route changes failed: ${failed.slice(0, 3).join('; ')}${more}`,
      { cause: err });
  }
}

