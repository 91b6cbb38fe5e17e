/**
 * Convergence property (DESIGN rule 5): from random owned and foreign state in a namespace
 * (sets flushed or recreated by hand with another type, entries added by hand, routes deleted,
 * the nft table deleted or its set recreated without the interval flag, rules
 * removed) and a random desired set, one run gives exactly the desired owned state, a
 * second run changes nothing, and foreign state is byte-identical.
 *
 * A "run" here is what the reconciler does per target: observe, diff, apply unless the plan
 * is empty. Seeds are fixed so a failure names a reproducible case.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseCidr } from '../../../controller/net/cidr.js';
import { diff, isEmptyPlan } from '../../../controller/plan/diff.js';
import { createIpset } from '../../../controller/targets/ipset.js';
import { createNftables } from '../../../controller/targets/nftables.js';
import { createRoute } from '../../../controller/targets/route.js';
import type { DesiredEntry, Plan, Target } from '../../../controller/targets/types.js';
import { createNetns, destroyAllNetns, kernelSkipReason, type Netns } from '../../helpers/netns.js';
import { uniqueName } from '../../helpers/tmp.js';
import { entry, observedKeys, sortKeys } from '../../helpers/target-contract.js';
import { testDeps } from '../../helpers/target-deps.js';
import { ipsetSaveExcept, nftRulesetExcept, routesExcept, xtablesExcept } from '../../helpers/kernel-state.js';
import { rng } from '../../helpers/rng.js';

const skip = kernelSkipReason();
const kernel = skip ? describe.skip : describe;
afterAll(destroyAllNetns);

const PROTO = 250;
const SEEDS = [1, 2, 3, 4, 5, 6];

/** Candidate bans, with nesting (10.0.0.0/8 ⊃ 10.1.0.0/16 ⊃ 10.1.2.3) and adjacency on purpose. */
const POOL = [
  '10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '10.1.2.4', '11.0.0.0/24', '11.0.1.0/24', '198.51.100.7',
  '198.51.100.8', '203.0.113.0/24', '192.0.2.0/28', '192.0.2.16', '100.64.0.0/10',
  '2001:db8::/32', '2001:db8:1::/48', '2001:db8:1::5', '2001:db8:2::/64', '2001:db8:ffff::1', '3fff:1::/48',
];

function pick<T>(rand: () => number, items: readonly T[], p = 0.5): T[] {
  return items.filter(() => rand() < p);
}

interface Rig {
  ns: Netns;
  setName: string;
  table: string;
  targets: Target[];
}

async function rig(): Promise<Rig> {
  const ns = await createNetns('f2gcv');
  const setName = uniqueName('c', 8);
  const table = uniqueName('c', 8);
  const deps = testDeps(ns.run);
  return {
    ns, setName, table,
    targets: [
      createIpset('ipset', { setName, enforce: 'both' }, deps),
      createNftables('nft', { table, enforce: 'both' }, deps),
      createRoute('route', { proto: PROTO }, deps),
    ],
  };
}

/** Someone else's sets, tables, rules and routes, sharing name prefixes where that is a trap. */
async function seedForeign(r: Rig, rand: () => number): Promise<void> {
  const other = `${r.setName}x-v4`;
  const members = pick(rand, ['198.51.100.7', '10.0.0.0/8', '172.31.0.0/16'], 0.7);
  await r.ns.run('ipset', ['restore'], { input: [`create ${other} hash:net family inet`, ...members.map((m) => `add ${other} ${m}`)].join('\n') + '\n' });
  await r.ns.run('iptables', ['-A', 'INPUT', '-m', 'set', '--match-set', other, 'src', '-j', 'ACCEPT']);
  await r.ns.run('nft', ['-f', '-'], {
    input: [
      `table inet ${r.table}x {`,
      `  set v4 { type ipv4_addr; flags interval; elements = { ${['10.0.0.0/8', ...members.filter((m) => m !== '10.0.0.0/8')].join(', ')} } }`,
      '  chain input { type filter hook input priority 0; policy accept; ip saddr @v4 counter accept\n }',
      '}',
    ].join('\n'),
  });
  const routes = ['route add blackhole 172.31.1.0/24 proto static', `route add blackhole 172.31.2.0/24 proto ${PROTO + 1}`,
    `route add unreachable 172.31.3.0/24 proto ${PROTO}`, 'route add blackhole 2001:db8:dead::/48 proto 252'];
  await r.ns.run('ip', ['-batch', '-'], { input: pick(rand, routes, 0.75).join('\n') + '\n' });
}

async function foreignSnapshot(r: Rig): Promise<string> {
  const ours = [`${r.setName}-v4`, `${r.setName}-v6`];
  return [
    await ipsetSaveExcept(r.ns, ours),
    await xtablesExcept(r.ns, ours),
    await nftRulesetExcept(r.ns, r.table, true),
    await routesExcept(r.ns, PROTO),
    (await r.ns.run('ip', ['route', 'show', 'table', 'all', 'proto', String(PROTO), 'type', 'unreachable'])).stdout,
  ].join('\n=====\n');
}

/** Damage a previously good owned state the ways an admin (or a crash) might. */
async function tamper(r: Rig, rand: () => number): Promise<string[]> {
  const { ns, setName, table } = r;
  const done: string[] = [];
  const maybe = async (what: string, fn: () => Promise<unknown>) => {
    if (rand() < 0.5) {
      await fn();
      done.push(what);
    }
  };
  await maybe('ipset v4 flushed', () => ns.run('ipset', ['flush', `${setName}-v4`]));
  await maybe('ipset entry added by hand', () => ns.run('ipset', ['add', `${setName}-v6`, '2001:db8:bad::/48', '-exist']));
  await maybe('ipset entry added by hand v4', () => ns.run('ipset', ['add', `${setName}-v4`, '192.0.2.99', '-exist']));
  await maybe('iptables rule deleted', () => ns.run('iptables', ['-D', 'INPUT', '-m', 'set', '--match-set', `${setName}-v4`, 'src', '-j', 'DROP']));
  await maybe('route added by hand with our proto', () => ns.run('ip', ['route', 'replace', 'blackhole', '192.0.2.77', 'proto', String(PROTO)]));
  await maybe('route deleted', async () => {
    const first = (await observedKeys(r.targets[2]!))[0];
    if (first) await ns.run('ip', ['route', 'del', 'blackhole', first, 'proto', String(PROTO)]);
  });
  await maybe('ipset v6 recreated by hand as hash:ip', async () => {
    for (const chain of ['INPUT', 'FORWARD']) {
      await ns.run('ip6tables', ['-D', chain, '-m', 'set', '--match-set', `${setName}-v6`, 'src', '-j', 'DROP']).catch(() => undefined);
    }
    await ns.run('ipset', ['destroy', `${setName}-v6`]).catch(() => undefined);
    await ns.run('ipset', ['restore'], { input: `create ${setName}-v6 hash:ip family inet6\nadd ${setName}-v6 2001:db8::1\n` });
  });
  const shape = rand();
  if (shape < 0.3) {
    await ns.run('nft', ['delete', 'table', 'inet', table]);
    done.push('nft table deleted');
  } else if (shape < 0.5) {
    await ns.run('nft', ['-f', '-'], { input: `delete table inet ${table}\nadd table inet ${table}\nadd set inet ${table} v4 { type ipv4_addr; }\nadd element inet ${table} v4 { 192.0.2.201 }\n` });
    done.push('nft v4 recreated without the interval flag');
  } else {
    await maybe('nft element added by hand', () => ns.run('nft', ['add', 'element', 'inet', table, 'v4', '{ 192.0.2.200-192.0.2.210 }']));
    await maybe('nft chain rule tampered', () => ns.run('nft', ['insert', 'rule', 'inet', table, 'forward', 'ip', 'saddr', '@v4', 'accept']));
  }
  return done;
}

/** One reconciler pass for one target: observe, diff, apply unless empty and enforced. Returns what it did. */
async function runOnce(target: Target, desired: DesiredEntry[]): Promise<Plan & { repair: boolean }> {
  const plan = diff(desired, await target.observe());
  const repair = target.needsRepair?.() === true;
  if (!isEmptyPlan(plan) || repair) await target.apply(plan);
  return { ...plan, repair };
}

kernel('convergence from random state', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: one run converges, a second run is a no-op, foreign state untouched`, async () => {
      const rand = rng(seed);
      const r = await rig();
      try {
        await seedForeign(r, rand);
        // a previous good run with some other desired set, then damage
        const before = pick(rand, POOL).map(entry);
        for (const t of r.targets) await runOnce(t, before);
        const damage = await tamper(r, rand);
        const foreign = await foreignSnapshot(r);

        const desired = pick(rand, POOL, 0.6).map(entry);
        const want = sortKeys(desired.map((d) => d.cidr));
        for (const t of r.targets) await runOnce(t, desired);
        for (const t of r.targets) {
          expect(await observedKeys(t), `${t.driver} after run 1 (damage: ${damage.join(', ') || 'none'})`).toEqual(want);
        }
        for (const t of r.targets) {
          expect(await runOnce(t, desired), `${t.driver} run 2 plan`).toEqual({ add: [], remove: [], repair: false });
        }
        expect(await foreignSnapshot(r)).toBe(foreign);
        await assertKernelMatches(r, want);
      } finally {
        await r.ns.destroy();
      }
    });
  }
});

/** Beyond observe(): the kernel's own listings hold exactly the desired entries. */
async function assertKernelMatches(r: Rig, want: string[]): Promise<void> {
  const save = (await r.ns.run('ipset', ['save'])).stdout.split('\n');
  const inSets = save.filter((l) => l.startsWith(`add ${r.setName}-v4 `) || l.startsWith(`add ${r.setName}-v6 `)).map((l) => l.split(' ')[2]!);
  expect(sortKeys(inSets.map((k) => parseCidr(k).key))).toEqual(want);
  const routes = [(await r.ns.run('ip', ['-4', 'route', 'show', 'proto', String(PROTO), 'type', 'blackhole'])).stdout,
    (await r.ns.run('ip', ['-6', 'route', 'show', 'proto', String(PROTO), 'type', 'blackhole'])).stdout].join('');
  const dsts = routes.split('\n').filter(Boolean).map((l) => parseCidr(l.split(/\s+/)[1]!).key);
  expect(sortKeys(dsts)).toEqual(want);
  const rules = (await r.ns.run('iptables', ['-S', 'INPUT'])).stdout.split('\n').filter((l) => l.includes(`${r.setName}-v4 src -j DROP`));
  expect(rules).toHaveLength(1);
}
