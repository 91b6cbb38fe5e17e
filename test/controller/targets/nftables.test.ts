import { afterAll, describe, expect, it } from 'vitest';
import { createNftables } from '../../../controller/targets/nftables.js';
import { REBUILD_AFTER_DELETES, emptyState, observedFromState, parseNftTable, renderNftTransaction } from '../../../controller/targets/nftables-format.js';
import type { Target } from '../../../controller/targets/types.js';
import { execRunner, type Runner } from '../../../controller/lib/exec.js';
import { createNetns, destroyAllNetns, kernelSkipReason, tcpReaches, type Netns } from '../../helpers/netns.js';
import { uniqueName } from '../../helpers/tmp.js';
import { entry, observedKeys, planFor, reconcilePass, testTarget, type StartingState, type TargetFixture } from '../../helpers/target-contract.js';
import { testDeps } from '../../helpers/target-deps.js';
import { nftRulesetExcept } from '../../helpers/kernel-state.js';

const skip = kernelSkipReason(['ip', 'nft']);
const kernel = skip ? describe.skip : describe;
afterAll(destroyAllNetns);

function nftIn(ns: Netns, options: Record<string, unknown> = {}): Target {
  return createNftables('gateway', options, testDeps(ns.run));
}

/** Foreign state: a table whose name shares our prefix with the same set names, and an ip filter table. */
function foreignNft(ns: Netns, table: string) {
  return {
    async seed() {
      await ns.run('nft', ['-f', '-'], {
        input: [
          `table inet ${table}x {`,
          '  set v4 { type ipv4_addr; flags interval; elements = { 198.51.100.0/24, 10.0.0.0/8 } }',
          '  chain input { type filter hook input priority 0; policy accept; ip saddr @v4 counter accept\n }',
          '}',
          'table ip other {',
          '  chain c { type filter hook forward priority 5; policy accept; ip daddr 192.0.2.1 drop\n }',
          '}',
        ].join('\n'),
      });
    },
    snapshot: () => nftRulesetExcept(ns, table),
  };
}

interface NftFixture extends TargetFixture {
  ns: Netns;
  table: string;
}

/** Runs an nft script in the fixture's namespace (`T` stands for our table). */
const nftScript = (fx: NftFixture, lines: string[]) => fx.ns.run('nft', ['-f', '-'], { input: lines.join('\n').replace(/ inet T\b/g, ` inet ${fx.table}`) + '\n' }).then(() => undefined);

/** After a repair: our sets have their own shape again and both chains hold exactly our drop rules. */
async function tableIsOurs(fx: NftFixture): Promise<void> {
  const text = (await fx.ns.run('nft', ['list', 'table', 'inet', fx.table])).stdout;
  expect(text).toMatch(/set v4 \{\s+type ipv4_addr\s+flags interval\s/);
  expect(text).toMatch(/set v6 \{\s+type ipv6_addr\s+flags interval\s/);
  expect(text).not.toMatch(/timeout|auto-merge|size /);
  for (const chain of ['input', 'forward']) {
    expect(text).toMatch(new RegExp(`chain ${chain} \\{\\s+type filter hook ${chain} priority filter - 10; policy accept;\\s+ip saddr @v4 drop\\s+ip6 saddr @v6 drop\\s+\\}`));
  }
}

const NFT_STATES: StartingState<NftFixture>[] = [
  {
    name: 'wrong type: v4 recreated without the interval flag (every later transaction failed)',
    damage: (fx) => nftScript(fx, ['delete table inet T', 'add table inet T', 'add set inet T v4 { type ipv4_addr; }', 'add element inet T v4 { 192.0.2.9 }']),
    check: tableIsOurs,
  },
  {
    name: 'wrong type: v4 of type ipv6_addr, v6 with timeout and auto-merge, a covered set of the wrong type',
    damage: (fx) => nftScript(fx, [
      'delete table inet T', 'add table inet T',
      'add set inet T v4 { type ipv6_addr; flags interval; }',
      'add set inet T v6 { type ipv6_addr; flags interval,timeout; auto-merge; timeout 1h; }',
      'add set inet T v4_covered { type ipv4_addr; }',
    ]),
    check: tableIsOurs,
  },
  {
    name: 'wrong type: chain input with another hook and priority, chain forward of type nat',
    damage: (fx) => nftScript(fx, [
      'flush chain inet T input', 'delete chain inet T input', 'flush chain inet T forward', 'delete chain inet T forward',
      'add chain inet T input { type filter hook output priority 100; policy accept; }',
      'add chain inet T forward { type nat hook postrouting priority 100; policy accept; }',
    ]),
    check: tableIsOurs,
  },
  {
    name: 'wrong type: the table made dormant (its chains filter nothing)',
    damage: (fx) => nftScript(fx, ['add table inet T { flags dormant; }']),
    check: async (fx) => {
      await tableIsOurs(fx);
      expect((await fx.ns.run('nft', ['-j', 'list', 'table', 'inet', fx.table])).stdout).not.toMatch(/"table": \{[^}]*"flags"/);
    },
  },
  {
    name: 'half-applied: the v6 sets and the forward chain missing, input chain empty',
    damage: (fx) => nftScript(fx, [
      'flush chain inet T forward', 'delete chain inet T forward', 'flush chain inet T input',
      'delete set inet T v6_covered', 'delete set inet T v6',
    ]),
    check: tableIsOurs,
  },
  {
    name: 'half-applied: a table with only an empty v4 set',
    damage: (fx) => nftScript(fx, ['delete table inet T', 'add table inet T', 'add set inet T v4 { type ipv4_addr; flags interval; }']),
    check: tableIsOurs,
  },
];

testTarget('nftables', async (): Promise<NftFixture> => {
  const ns = await createNetns('f2gnft');
  const table = uniqueName('t', 8);
  return {
    ns, table,
    target: nftIn(ns, { table, enforce: 'both' }),
    foreign: foreignNft(ns, table),
    cleanup: () => ns.destroy(),
  };
}, { describe: kernel, bulk: 5000, states: NFT_STATES, reaches: (fx, src, dst) => tcpReaches(fx.ns, src, dst) });

const FIXTURE = JSON.stringify({ nftables: [
  { metainfo: { version: '1.0.6' } },
  { table: { family: 'inet', name: 't' } },
  { set: { family: 'inet', name: 'v4', table: 't', type: 'ipv4_addr', flags: ['interval'], elem: [
    { range: ['10.0.0.1', '10.0.0.5'] },
    { elem: { val: { prefix: { addr: '10.2.0.0', len: 16 } }, comment: 'x' } },
    '192.0.2.7',
  ] } },
  { set: { family: 'inet', name: 'v4_covered', table: 't', type: ['ipv4_addr', 'ipv4_addr'], elem: [
    { concat: ['10.2.3.4', '255.255.255.255'] },
    { concat: ['172.16.1.0', '255.255.255.0'] },
  ] } },
  { chain: { family: 'inet', table: 't', name: 'input', type: 'filter', hook: 'input', prio: -10, policy: 'accept' } },
  { rule: { family: 'inet', table: 't', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@v4' } }, { drop: null }] } },
] });

describe('nftables text', () => {
  it('reads prefixes, addresses, ranges (as CIDRs) and covered entries whose cover is present', () => {
    const keys = observedFromState(parseNftTable(FIXTURE)).map((e) => e.cidr);
    // 172.16.1.0/24 is recorded as covered but nothing covers it any more: not reported
    expect(keys).toEqual(['10.0.0.1', '10.0.0.2/31', '10.0.0.4/31', '10.2.0.0/16', '192.0.2.7', '10.2.3.4']);
  });

  it('moves a nested entry to the covered set instead of adding an overlapping interval', () => {
    const text = renderNftTransaction('t', emptyState(), { add: ['10.1.2.3', '10.0.0.0/8', '2001:db8::/32'].map(entry), remove: [] }, 'none');
    expect(text).toContain('add element inet t v4 { 10.0.0.0/8 }');
    expect(text).toContain('add element inet t v4_covered { 10.1.2.3 . 255.255.255.255 }');
    expect(text).toContain('add element inet t v6 { 2001:db8::/32 }');
    expect(text).not.toMatch(/chain/);
  });

  it('splits a hand-made range when one of its CIDRs is removed', () => {
    const state = parseNftTable(FIXTURE);
    const text = renderNftTransaction('t', state, { add: [], remove: [{ cidr: '10.0.0.1', family: 4 }] }, 'input') ?? '';
    expect(text).toContain('delete element inet t v4 { 10.0.0.1-10.0.0.5 }');
    expect(text).toContain('add element inet t v4 { 10.0.0.2/31, 10.0.0.4/31 }');
    expect(text).toContain('delete element inet t v4_covered { 172.16.1.0 . 255.255.255.0 }');
  });

  it('rebuilds an interval set in one transaction instead of deleting many elements one by one', () => {
    const held = Array.from({ length: 20 }, (_, i) => `10.0.0.${i}`);
    const state = parseNftTable(JSON.stringify({ nftables: [
      { table: { family: 'inet', name: 't' } },
      { set: { family: 'inet', name: 'v4', table: 't', type: 'ipv4_addr', flags: ['interval'], elem: held } },
    ] }));
    const few = renderNftTransaction('t', state, { add: [], remove: held.slice(0, REBUILD_AFTER_DELETES).map((cidr) => ({ cidr, family: 4 as const })) }, 'none') ?? '';
    expect(few).toMatch(/^delete element inet t v4 \{ 10\.0\.0\.0, /m);
    expect(few).not.toMatch(/flush/);
    const many = renderNftTransaction('t', state, { add: [entry('10.9.9.9')], remove: held.slice(0, 15).map((cidr) => ({ cidr, family: 4 as const })) }, 'none') ?? '';
    expect(many).toContain('flush set inet t v4\n');
    expect(many).toContain(`add element inet t v4 { ${[...held.slice(15), '10.9.9.9'].join(', ')} }`);
    expect(many).not.toMatch(/delete element inet t v4 /);
  });

  it('writes nothing when the table already matches', () => {
    const state = parseNftTable(FIXTURE);
    state.sets.add('v6').add('v6_covered');
    state.chains.set('input', ['ip saddr @v4 drop', 'ip6 saddr @v6 drop']);
    state.covered[4] = state.covered[4].filter((c) => c.key === '10.2.3.4');
    state.elements[4] = state.elements[4].filter((e) => e.raw !== '10.0.0.1-10.0.0.5');
    expect(renderNftTransaction('t', state, { add: [entry('192.0.2.7')], remove: [] }, 'input')).toBeUndefined();
  });
});

describe('nftables options', () => {
  const deps = testDeps(async () => ({ stdout: '', stderr: '' }));
  it('refuses a table name nft cannot parse', () => {
    expect(() => createNftables('gw', { table: 'my table' }, deps)).toThrow(/target "gw" \(nftables\): option table/);
  });
});

kernel('nftables in the kernel', () => {
  it('holds nested bans (10.0.0.0/8 and 10.1.2.3) and converges with them', async () => {
    const ns = await createNetns('f2gnfc');
    try {
      const table = uniqueName('c', 8);
      const target = nftIn(ns, { table });
      const desired = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '2001:db8::/32', '2001:db8::1'];
      await target.apply(planFor(desired, await target.observe()));
      expect(await observedKeys(target)).toEqual(desired);
      expect(planFor(desired, await target.observe())).toEqual({ add: [], remove: [] });
      // lifting the /8 leaves the /16 enforced, still covering the host
      await target.apply({ add: [], remove: (await target.observe()).filter((e) => e.cidr === '10.0.0.0/8') });
      expect(await observedKeys(target)).toEqual(['10.1.0.0/16', '10.1.2.3', '2001:db8::/32', '2001:db8::1']);
      const set = (await ns.run('nft', ['list', 'set', 'inet', table, 'v4'])).stdout;
      expect(set).toMatch(/elements = \{ 10\.1\.0\.0\/16 \}/);
      // someone deletes the cover by hand: the host is no longer reported, so the next diff re-adds it
      await ns.run('nft', ['delete', 'element', 'inet', table, 'v4', '{ 10.1.0.0/16 }']);
      expect(await observedKeys(target)).toEqual(['2001:db8::/32', '2001:db8::1']);
    } finally {
      await ns.destroy();
    }
  });

  it('a no-change apply writes nothing (rule handles and elements identical)', async () => {
    const ns = await createNetns('f2gnfn');
    try {
      const table = uniqueName('n', 8);
      const target = nftIn(ns, { table, enforce: 'both' });
      const plan = { add: ['192.0.2.0/24', '2001:db8::/48'].map(entry), remove: [] };
      await target.apply(plan);
      const before = (await ns.run('nft', ['-a', 'list', 'table', 'inet', table])).stdout;
      await target.apply(plan);
      await target.apply({ add: [], remove: [] });
      expect((await ns.run('nft', ['-a', 'list', 'table', 'inet', table])).stdout).toBe(before);
    } finally {
      await ns.destroy();
    }
  });

  it('a table made dormant with the right entries asks for a repair, and one run wakes it', async () => {
    const ns = await createNetns('f2gnfd');
    try {
      const table = uniqueName('d', 8);
      const target = nftIn(ns, { table });
      await reconcilePass(target, ['192.0.2.1', '2001:db8::1']);
      await ns.run('nft', ['add', 'table', 'inet', table, '{ flags dormant; }']);
      // (nft 1.0.x cannot print a dormant table as JSON: then its members read as none and are written again)
      expect((await reconcilePass(target, ['192.0.2.1', '2001:db8::1'])).repair).toBe(true);
      expect(await observedKeys(target)).toEqual(['192.0.2.1', '2001:db8::1']);
      expect((await ns.run('nft', ['-j', 'list', 'table', 'inet', table])).stdout).not.toMatch(/"table": \{[^}]*"flags"/);
      expect(await reconcilePass(target, ['192.0.2.1', '2001:db8::1'])).toEqual({ plan: { add: [], remove: [] }, repair: false });
    } finally {
      await ns.destroy();
    }
  });

  it('restores a deleted table, repairs tampered chains and follows enforce changes', async () => {
    const ns = await createNetns('f2gnft');
    try {
      const table = uniqueName('r', 8);
      const target = nftIn(ns, { table, enforce: 'both' });
      await target.apply({ add: [entry('192.0.2.1')], remove: [] });
      await ns.run('nft', ['delete', 'table', 'inet', table]);
      expect(await target.observe()).toEqual([]);
      await target.apply({ add: [entry('192.0.2.1')], remove: [] });
      // a rule added by hand to our chain bypasses the bans: observe asks for a repair, and
      // applying the (empty) plan rebuilds the chain
      await ns.run('nft', ['insert', 'rule', 'inet', table, 'input', 'ip', 'saddr', '@v4', 'accept']);
      expect((await target.observe()).map((e) => e.cidr)).toEqual(['192.0.2.1']);
      expect(target.needsRepair?.()).toBe(true);
      const plan = planFor(['192.0.2.1'], await target.observe());
      expect(plan).toEqual({ add: [], remove: [] });
      await target.apply(plan);
      await target.observe();
      expect(target.needsRepair?.()).toBe(false);
      const listing = (await ns.run('nft', ['list', 'table', 'inet', table])).stdout;
      expect(listing.match(/ip saddr @v4 drop/g)).toHaveLength(2); // once in input, once in forward
      expect(listing).not.toMatch(/accept$/m);
      const forward = nftIn(ns, { table, enforce: 'forward' });
      await forward.apply({ add: [], remove: [] });
      const after = (await ns.run('nft', ['list', 'table', 'inet', table])).stdout;
      expect(after).not.toMatch(/chain input/);
      expect(after).toMatch(/chain forward/);
      expect(await observedKeys(forward)).toEqual(['192.0.2.1']);
    } finally {
      await ns.destroy();
    }
  });

  it('applies from the last observe, and retries from a fresh listing when the table changed in between', async () => {
    const ns = await createNetns('f2gnfs');
    try {
      const table = uniqueName('s', 8);
      const deps = testDeps(ns.run);
      const target = createNftables('gateway', { table }, deps);
      await target.apply({ add: ['192.0.2.1', '192.0.2.2'].map(entry), remove: [] });
      const held = await target.observe();
      await ns.run('nft', ['delete', 'element', 'inet', table, 'v4', '{ 192.0.2.1 }']); // someone, meanwhile
      await target.apply({ add: [entry('192.0.2.3')], remove: held.filter((e) => e.cidr === '192.0.2.1') });
      expect(await observedKeys(target)).toEqual(['192.0.2.2', '192.0.2.3']);
      expect(deps.events.map((e) => e.event)).toContain('nftables.retry');
    } finally {
      await ns.destroy();
    }
  });

  it('reports a hand-made range as CIDRs and can remove part of it', async () => {
    const ns = await createNetns('f2gnfr');
    try {
      const table = uniqueName('g', 8);
      const target = nftIn(ns, { table });
      await target.apply({ add: [], remove: [] });
      await ns.run('nft', ['add', 'element', 'inet', table, 'v4', '{ 10.0.0.1-10.0.0.5 }']);
      expect(await observedKeys(target)).toEqual(['10.0.0.1', '10.0.0.2/31', '10.0.0.4/31']);
      await target.apply({ add: [], remove: [{ cidr: '10.0.0.4/31', family: 4 }] });
      expect(await observedKeys(target)).toEqual(['10.0.0.1', '10.0.0.2/31']);
    } finally {
      await ns.destroy();
    }
  });
});

describe('nftables without its program', () => {
  it('fails alone, as one line naming the target, with E_TARGET_TOOL_MISSING', async () => {
    // only the missing binary is looked up (on the host, where nothing runs); any other program is refused
    const run: Runner = (cmd, args, o) => (cmd === 'nft' ? execRunner('nft-not-installed', args, o) : Promise.reject(new Error(`unexpected ${cmd}`)));
    const target = createNftables('t1', { table: 'x' }, testDeps(run));
    await expect(target.observe()).rejects.toMatchObject({ code: 'E_TARGET_TOOL_MISSING', target: 't1', message: expect.stringMatching(/^target "t1" \(nftables\): .*nft-not-installed: command not found/) });
    await expect(target.apply({ add: [entry('192.0.2.1')], remove: [] })).rejects.toMatchObject({ code: 'E_TARGET_TOOL_MISSING' });
  });
});
