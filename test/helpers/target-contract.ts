/**
 * The shared conformance suite every driver passes (the unstorage `testDriver` model).
 *
 * A driver test calls `testTarget(name, setup)`; setup builds a fresh target over real
 * state (a network namespace, a temp dir, an API emulator) plus a way to seed and snapshot
 * *foreign* state: things the target must never touch (other sets, other routes, other lines
 * of a shared file). The suite asserts on the state of the world via observe() and the
 * snapshot, never on which commands were run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseCidr } from '../../controller/net/cidr.js';
import type { DesiredEntry, ObservedEntry, Plan, Target } from '../../controller/targets/types.js';

export interface ForeignState {
  /** creates state the target does not own (idempotent is not required; called once per test) */
  seed(): Promise<void>;
  /** a byte-exact text of the foreign state; equal before and after means "untouched" */
  snapshot(): Promise<string>;
}

/**
 * A damaged starting state: what an admin, a crash or another tool may leave in what the
 * target owns. The suite applies a good state first, then `damage()`, then one run must
 * converge (or, with `refuses`, fail with that one line and change nothing foreign).
 */
export interface StartingState<F extends TargetFixture = TargetFixture> {
  /** "wrong type: …" or "half-applied: …", shown in the test name */
  name: string;
  damage(fx: F): Promise<void>;
  /** the run cannot repair this safely and must fail with a line matching this */
  refuses?: RegExp;
  /** after the run: the driver's own check of the thing it owns (e.g. the set's type) */
  check?(fx: F): Promise<void>;
  /**
   * When the damage itself changes foreign state (an IPSet deleted with hand-made members in
   * it): `after-damage` compares foreign state with its snapshot after the damage; `check`
   * leaves it to the state's check (a torn shared file, whose torn line the run drops).
   */
  foreign?: 'after-damage' | 'check';
}

export interface TargetFixture {
  target: Target;
  foreign: ForeignState;
  cleanup(): Promise<void>;
}

export interface ContractOptions<F extends TargetFixture = TargetFixture> {
  /** false for a target that cannot hold IPv6 (none of ours; kept for honesty) */
  ipv6?: boolean;
  /** vitest.describe variant, e.g. describe.skip with a reason outside CI */
  describe?: (name: string, fn: () => void) => void;
  /** also apply and remove this many entries in one plan each (batching at scale); off by default */
  bulk?: number;
  /**
   * For a target that drops traffic (the kernel drivers, built with enforce on INPUT): whether
   * `src` reaches `dst` over TCP in the fixture's world. The suite then checks that a banned
   * source is dropped, another is not, and both pass once the ban is lifted. Off by default.
   */
  reaches?: (fx: F, src: string, dst: string) => Promise<boolean>;
  /**
   * Damaged starting states the target must converge from (or refuse with one line): every
   * real driver declares at least one "wrong type: …" and one "half-applied: …"; false only
   * for a target with no owned structure to damage (the in-memory test double).
   */
  states: StartingState<F>[] | false;
}

/** n distinct canonical entries: IPv4 hosts and /24s, and (when ipv6) IPv6 /64s. */
export function bulkEntries(n: number, ipv6 = true): DesiredEntry[] {
  const out: DesiredEntry[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(i / 4);
    if (ipv6 && i % 4 === 3) out.push(entry(`2001:db8:${(k >> 16).toString(16)}:${(k & 0xffff).toString(16)}::/64`));
    else if (i % 4 === 2) out.push(entry(`100.${64 + ((k >> 8) & 63)}.${k & 255}.0/24`));
    else out.push(entry(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
  }
  return out;
}

/** A desired entry from a canonical (or any valid) CIDR text. */
export function entry(cidr: string): DesiredEntry {
  const c = parseCidr(cidr);
  return { cidr: c.key, family: c.family };
}

/** Observed CIDR keys, sorted the canonical way, so tests compare plain arrays. */
export async function observedKeys(target: Target): Promise<string[]> {
  return sortKeys((await target.observe()).map((e) => e.cidr));
}

export function sortKeys(keys: string[]): string[] {
  return keys.map((k) => parseCidr(k)).sort((a, b) => (a.family - b.family) || (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.prefix - b.prefix)).map((c) => c.key);
}

const V4 = ['198.51.100.7', '203.0.113.0/24', '192.0.2.128/25', '100.64.0.0/16'];
const V6 = ['2001:db8::1', '2001:db8:dead::/48', '2001:db8:1:2::/64', '2001:db8:ffff::7'];

export function testTarget<F extends TargetFixture>(name: string, setup: () => Promise<F>, options: ContractOptions<F>): void {
  const ipv6 = options.ipv6 ?? true;
  const d = options.describe ?? describe;
  const mixed = ipv6 ? [...V4, ...V6] : V4;

  d(`target contract: ${name}`, () => {
    let fx: F | undefined;
    const open = async (): Promise<F> => (fx = await setup());
    afterEach(async () => {
      await fx?.target.close?.();
      await fx?.cleanup();
      fx = undefined;
    });

    it('observes nothing on a fresh target', async () => {
      const { target } = await open();
      expect(await target.observe()).toEqual([]);
    });

    it('observes nothing foreign', async () => {
      const { target, foreign } = await open();
      await foreign.seed();
      expect(await target.observe()).toEqual([]);
    });

    it('adds entries and observes them back', async () => {
      const { target } = await open();
      const res = await target.apply({ add: ['198.51.100.7', '203.0.113.0/24'].map(entry), remove: [] });
      expect(res).toEqual({ added: 2, removed: 0 });
      expect(await observedKeys(target)).toEqual(['198.51.100.7', '203.0.113.0/24']);
    });

    it('removes entries by what observe reported', async () => {
      const { target } = await open();
      await target.apply({ add: ['198.51.100.7', '203.0.113.0/24', '192.0.2.1'].map(entry), remove: [] });
      const held = await target.observe();
      const gone = held.filter((e) => e.cidr !== '203.0.113.0/24');
      const res = await target.apply({ add: [], remove: gone });
      expect(res).toEqual({ added: 0, removed: 2 });
      expect(await observedKeys(target)).toEqual(['203.0.113.0/24']);
    });

    it('applying the same plan twice is a no-op the second time', async () => {
      const { target } = await open();
      await target.apply({ add: ['198.51.100.9', '203.0.113.0/24'].map(entry), remove: [] });
      const victim = (await target.observe()).filter((e) => e.cidr === '198.51.100.9');
      const plan: Plan = { add: ['192.0.2.0/28', '198.51.100.10'].map(entry), remove: victim };
      await target.apply(plan);
      const once = await observedKeys(target);
      await target.apply(plan);
      expect(await observedKeys(target)).toEqual(once);
      expect(once).toEqual(['192.0.2.0/28', '198.51.100.10', '203.0.113.0/24']);
      expect(await target.apply({ add: [], remove: [] })).toEqual({ added: 0, removed: 0 });
      expect(await observedKeys(target)).toEqual(once);
    });

    it('leaves foreign state byte-identical', async () => {
      const { target, foreign } = await open();
      await foreign.seed();
      const before = await foreign.snapshot();
      await target.apply({ add: mixed.map(entry), remove: [] });
      const held = await target.observe();
      await target.apply({ add: [], remove: held.slice(0, 3) });
      expect(await foreign.snapshot()).toBe(before);
      expect((await target.observe()).length).toBe(mixed.length - 3);
    });

    it('holds IPv4 and IPv6 together, each with the right family', async () => {
      const { target } = await open();
      await target.apply({ add: mixed.map(entry), remove: [] });
      const held = await target.observe();
      expect(sortKeys(held.map((e) => e.cidr))).toEqual(sortKeys(mixed));
      for (const e of held) expect(e.family).toBe(parseCidr(e.cidr).family);
    });

    it('keeps CIDRs exact: /24, /48, /64 and single hosts are not widened or merged', async () => {
      const { target } = await open();
      // adjacent networks are the trap: an interval set with auto-merge would report 10.1.0.0/23
      const cidrs = ['10.1.0.0/24', '10.1.1.0/24', '10.9.8.7', '10.9.8.6', '172.16.0.0/12'];
      if (ipv6) cidrs.push('2001:db8:aa::/48', '2001:db8:ab::/48', '2001:db8:1::5', '2001:db8:2::/64');
      await target.apply({ add: cidrs.map(entry), remove: [] });
      expect(await observedKeys(target)).toEqual(sortKeys(cidrs));
    });

    if (options.bulk) {
      const n = options.bulk;
      it(`applies ${n} entries in one plan and removes them in one plan`, async () => {
        const { target } = await open();
        const all = bulkEntries(n, ipv6);
        await target.apply({ add: all, remove: [] });
        expect(await observedKeys(target)).toEqual(sortKeys(all.map((e) => e.cidr)));
        const held = await target.observe();
        await target.apply({ add: [], remove: held.slice(0, n - 1) });
        expect((await target.observe()).map((e) => e.cidr)).toEqual([held[n - 1]!.cidr]);
      });
    }

    if (options.reaches) {
      const reaches = options.reaches;
      it('drops traffic from a banned source, and lets it through once unbanned', async () => {
        const fx = await open();
        expect(await reaches(fx, '127.0.0.2', '127.0.0.1')).toBe(true);
        await fx.target.apply({ add: [entry('127.0.0.2')], remove: [] });
        expect(await reaches(fx, '127.0.0.2', '127.0.0.1')).toBe(false);
        expect(await reaches(fx, '127.0.0.3', '127.0.0.1')).toBe(true);
        await fx.target.apply({ add: [], remove: await fx.target.observe() });
        expect(await reaches(fx, '127.0.0.2', '127.0.0.1')).toBe(true);
      });
    }

    if (options.states !== false) {
      const states = options.states;
      it('declares wrong-type and half-applied starting states', () => {
        const names = states.map((st) => st.name);
        expect(names.some((n) => n.startsWith('wrong type')), `states: ${names.join(', ')}`).toBe(true);
        expect(names.some((n) => n.startsWith('half-applied')), `states: ${names.join(', ')}`).toBe(true);
      });
      for (const state of states) {
        it(`${state.refuses ? 'refuses with one line' : 'converges'} from ${state.name}`, async () => {
          await convergesFrom(await open(), state, mixed);
        });
      }
    }

    it('observe after apply equals desired, from any previous content', async () => {
      const { target } = await open();
      await target.apply({ add: mixed.slice(0, 5).map(entry), remove: [] });
      const desired = sortKeys(ipv6 ? [...V4.slice(2), ...V6.slice(1), '10.200.0.0/16'] : [...V4.slice(2), '10.200.0.0/16']);
      const plan = planFor(desired, await target.observe());
      await target.apply(plan);
      expect(await observedKeys(target)).toEqual(desired);
      expect(planFor(desired, await target.observe())).toEqual({ add: [], remove: [] });
    });
  });
}

/** One reconciler pass: observe, diff, apply unless there is nothing to change or repair. */
export async function reconcilePass(target: Target, desired: string[]): Promise<{ plan: Plan; repair: boolean }> {
  const plan = planFor(desired, await target.observe());
  const repair = target.needsRepair?.() === true;
  if (plan.add.length + plan.remove.length > 0 || repair) await target.apply(plan);
  return { plan, repair };
}

/**
 * From a good state, damaged: one pass gives exactly the desired entries, enforced (no repair
 * left), a second pass changes nothing, and foreign state is byte-identical. A state the
 * driver must refuse fails the pass with its one line, and foreign state is still untouched.
 */
async function convergesFrom<F extends TargetFixture>(fx: F, state: StartingState<F>, pool: readonly string[]): Promise<void> {
  const { target, foreign } = fx;
  await foreign.seed();
  const before = await foreign.snapshot();
  await reconcilePass(target, pool.slice(0, 5).map((k) => entry(k).cidr));
  await state.damage(fx);
  const reference = state.foreign === 'after-damage' ? await foreign.snapshot() : before;
  const desired = sortKeys([...pool.slice(2).map((k) => entry(k).cidr), '10.200.0.0/16']);
  if (state.refuses) {
    const err = await reconcilePass(target, desired).then(() => undefined, (e: unknown) => e as Error);
    expect(err, `${state.name}: the run refuses`).toBeInstanceOf(Error);
    expect(err!.message).toMatch(state.refuses);
    expect(err!.message.split('\n')).toHaveLength(1);
    expect(err!.message).not.toMatch(/\bat .*\.(ts|js):\d+/);
  } else {
    await reconcilePass(target, desired);
    expect(await observedKeys(target), `${state.name}: after one run`).toEqual(desired);
    expect(target.needsRepair?.() ?? false, `${state.name}: enforced after one run`).toBe(false);
    const second = await reconcilePass(target, desired);
    expect(second, `${state.name}: the second run is a no-op`).toEqual({ plan: { add: [], remove: [] }, repair: false });
    await state.check?.(fx);
  }
  if (state.foreign !== 'check') expect(await foreign.snapshot(), `${state.name}: foreign state untouched`).toBe(reference);
}

/** The smallest correct diff, local to the suite so it does not depend on the controller's. */
export function planFor(desired: string[], observed: ObservedEntry[]): Plan {
  const have = new Set(observed.map((e) => e.cidr));
  const want = new Set(desired);
  return {
    add: desired.filter((k) => !have.has(k)).map(entry),
    remove: observed.filter((e) => !want.has(e.cidr)),
  };
}
