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
import { parseCidr } from '../../../controller/net/cidr.js';
import type { DesiredEntry, ObservedEntry, Plan, Target } from '../../../controller/targets/types.js';

export interface ForeignState {
  /** creates state the target does not own (idempotent is not required; called once per test) */
  seed(): Promise<void>;
  /** a byte-exact text of the foreign state; equal before and after means "untouched" */
  snapshot(): Promise<string>;
}

export interface TargetFixture {
  target: Target;
  foreign: ForeignState;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** false for a target that cannot hold IPv6 (none of ours; kept for honesty) */
  ipv6?: boolean;
  /** vitest.describe variant, e.g. describe.skip with a reason outside CI */
  describe?: typeof describe;
  /** also apply and remove this many entries in one plan each (batching at scale); off by default */
  bulk?: number;
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

export function testTarget(name: string, setup: () => Promise<TargetFixture>, options: ContractOptions = {}): void {
  const ipv6 = options.ipv6 ?? true;
  const d = options.describe ?? describe;
  const mixed = ipv6 ? [...V4, ...V6] : V4;

  d(`target contract: ${name}`, () => {
    let fx: TargetFixture | undefined;
    const open = async (): Promise<TargetFixture> => (fx = await setup());
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

/** The smallest correct diff, local to the suite so it does not depend on the controller's. */
export function planFor(desired: string[], observed: ObservedEntry[]): Plan {
  const have = new Set(observed.map((e) => e.cidr));
  const want = new Set(desired);
  return {
    add: desired.filter((k) => !have.has(k)).map(entry),
    remove: observed.filter((e) => !want.has(e.cidr)),
  };
}
