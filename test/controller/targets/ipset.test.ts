import { afterAll, describe, expect, it } from 'vitest';
import { createIpset, tempSetName } from '../../../controller/targets/ipset.js';
import { failedRestoreLine, parseIpsetSave, parseSavedSet, parseSetHeader, renderIpsetRestore, setNames, shapeProblem } from '../../../controller/targets/ipset-format.js';
import type { Target } from '../../../controller/targets/types.js';
import { ExecError, execRunner, type Runner } from '../../../controller/lib/exec.js';
import { createNetns, destroyAllNetns, kernelSkipReason, tcpReaches, type Netns } from '../../helpers/netns.js';
import { uniqueName } from '../../helpers/tmp.js';
import { entry, observedKeys, planFor, testTarget, type StartingState, type TargetFixture } from '../../helpers/target-contract.js';
import { testDeps } from '../../helpers/target-deps.js';

const skip = kernelSkipReason(['ip', 'ipset', 'iptables', 'ip6tables']);
const kernel = skip ? describe.skip : describe;
afterAll(destroyAllNetns);

function ipsetIn(ns: Netns, options: Record<string, unknown> = {}): Target {
  return createIpset('kernel', options, testDeps(ns.run));
}

/** Foreign state: a set whose name shares our prefix, and someone else's iptables rule. */
function foreignIpset(ns: Netns, ours: string) {
  const other = `${ours}x-v4`;
  return {
    async seed() {
      await ns.run('ipset', ['restore'], { input: `create ${other} hash:net family inet\nadd ${other} 198.51.100.7\nadd ${other} 10.0.0.0/8\n` });
      await ns.run('iptables', ['-A', 'INPUT', '-s', '192.0.2.99', '-j', 'ACCEPT']);
    },
    async snapshot() {
      const sets = (await ns.run('ipset', ['save', other])).stdout;
      const rules = (await ns.run('iptables-save', [])).stdout.split('\n')
        .filter((l) => !l.startsWith('#') && !l.includes(`${ours}-v`)).join('\n');
      return `${sets}\n${rules}`;
    },
  };
}

interface IpsetFixture extends TargetFixture {
  ns: Netns;
  setName: string;
}

/** Our DROP rules out of the way, so the sets can be destroyed (an admin would do the same). */
async function dropOurRules(ns: Netns, setName: string): Promise<void> {
  for (const [tool, set] of [['iptables', `${setName}-v4`], ['ip6tables', `${setName}-v6`]] as const) {
    for (const chain of ['INPUT', 'FORWARD']) {
      await ns.run(tool, ['-D', chain, '-m', 'set', '--match-set', set, 'src', '-j', 'DROP']).catch(() => undefined);
    }
  }
}

/** Replaces one of our sets by hand with `ipset create <set> <spec>` holding `members`. */
async function recreate(fx: IpsetFixture, family: 4 | 6, spec: string, members: string[] = []): Promise<void> {
  const set = `${fx.setName}-v${family}`;
  await dropOurRules(fx.ns, fx.setName);
  await fx.ns.run('ipset', ['destroy', set]);
  await fx.ns.run('ipset', ['restore'], { input: [`create ${set} ${spec}`, ...members.map((m) => `add ${set} ${m}`)].join('\n') + '\n' });
}

/** After a repair: both sets are ours (hash:net, right family, no timeout), one DROP rule each, no stand-in left. */
async function setsAreOurs(fx: IpsetFixture): Promise<void> {
  for (const [family, kernelFamily] of [[4, 'inet'], [6, 'inet6']] as const) {
    const head = (await fx.ns.run('ipset', ['list', '-t', `${fx.setName}-v${family}`])).stdout;
    expect(head).toMatch(/^Type: hash:net$/m);
    expect(head).toMatch(new RegExp(`^Header: family ${kernelFamily} `, 'm'));
    expect(head).not.toMatch(/timeout/);
  }
  expect((await fx.ns.run('ipset', ['list', '-n'])).stdout).not.toContain(tempSetName(`${fx.setName}-v4`));
  expect((await fx.ns.run('ipset', ['list', '-n'])).stdout).not.toContain(tempSetName(`${fx.setName}-v6`));
  const rules = (await fx.ns.run('iptables', ['-S', 'INPUT'])).stdout.split('\n').filter((l) => l.includes(`${fx.setName}-v4 src -j DROP`));
  expect(rules).toHaveLength(1);
}

const IPSET_STATES: StartingState<IpsetFixture>[] = [
  {
    name: 'wrong type: v4 recreated by hand as hash:ip (a /24 would read as 256 hosts)',
    damage: (fx) => recreate(fx, 4, 'hash:ip family inet', ['203.0.113.0/24', '192.0.2.9']),
    check: setsAreOurs,
  },
  {
    name: 'wrong type: v4 recreated as hash:net family inet6, v6 as hash:ip,port',
    damage: async (fx) => {
      await recreate(fx, 4, 'hash:net family inet6', ['2001:db8:bad::/48']);
      await recreate(fx, 6, 'hash:ip,port family inet6', ['2001:db8::1,tcp:22']);
    },
    check: setsAreOurs,
  },
  {
    name: 'wrong type: hash:ip while its DROP rules still use it (no moment without enforcement)',
    damage: async (fx) => {
      await recreate(fx, 4, 'hash:ip family inet', ['192.0.2.9']);
      await fx.ns.run('iptables', ['-I', 'INPUT', '-m', 'set', '--match-set', `${fx.setName}-v4`, 'src', '-j', 'DROP']);
    },
    check: setsAreOurs,
  },
  {
    name: 'wrong type: v4 with a default timeout (members would expire in the kernel) and a tiny maxelem',
    damage: (fx) => recreate(fx, 4, 'hash:net family inet timeout 600 maxelem 2', ['198.51.100.7']),
    check: setsAreOurs,
  },
  {
    name: 'wrong type: nomatch members (exceptions that un-ban) in v4',
    damage: (fx) => fx.ns.run('ipset', ['add', `${fx.setName}-v4`, '10.200.0.0/16', 'nomatch', '-exist']).then(() => undefined),
    check: setsAreOurs,
  },
  {
    name: 'wrong type: hash:ip used by a rule fail2git did not make',
    damage: async (fx) => {
      await recreate(fx, 4, 'hash:ip family inet', ['192.0.2.9']);
      await fx.ns.run('iptables', ['-A', 'FORWARD', '-m', 'set', '--match-set', `${fx.setName}-v4`, 'dst', '-j', 'ACCEPT']);
    },
    refuses: /set t\S+-v4 is hash:ip family inet, not hash:net family inet, and 1 rule\(s\) fail2git did not make use it/,
  },
  {
    name: 'half-applied: v6 set gone and the v4 DROP rules deleted',
    damage: async (fx) => {
      await dropOurRules(fx.ns, fx.setName);
      await fx.ns.run('ipset', ['destroy', `${fx.setName}-v6`]);
    },
    check: setsAreOurs,
  },
  {
    name: 'half-applied: a stand-in set (with its DROP rule) left by an interrupted repair',
    damage: async (fx) => {
      const tmp = tempSetName(`${fx.setName}-v4`);
      await fx.ns.run('ipset', ['restore'], { input: `create ${tmp} hash:net family inet\nadd ${tmp} 192.0.2.77\n` });
      await fx.ns.run('iptables', ['-I', 'INPUT', '-m', 'set', '--match-set', tmp, 'src', '-j', 'DROP']);
      await recreate(fx, 4, 'hash:ip family inet');
    },
    check: async (fx) => {
      await setsAreOurs(fx);
      expect((await fx.ns.run('iptables', ['-S'])).stdout).not.toContain('f2g-tmp-');
    },
  },
];

testTarget('ipset', async (): Promise<IpsetFixture> => {
  const ns = await createNetns('f2gips');
  const setName = uniqueName('t', 8);
  return {
    ns, setName,
    target: ipsetIn(ns, { setName, enforce: 'both' }),
    foreign: foreignIpset(ns, setName),
    cleanup: () => ns.destroy(),
  };
}, { describe: kernel, bulk: 5000, states: IPSET_STATES, reaches: (fx, src, dst) => tcpReaches(fx.ns, src, dst) });

describe('ipset text', () => {
  it('reads /32 as a bare address and ignores other sets with the same prefix', () => {
    const save = [
      'create f2g-v4 hash:net family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x1',
      'add f2g-v4 1.2.3.0/24',
      'add f2g-v4 1.2.3.4',
      'add f2g-v4x 9.9.9.9',
    ].join('\n');
    expect(parseIpsetSave(save, 'f2g-v4', 4)).toEqual([
      { cidr: '1.2.3.0/24', family: 4 },
      { cidr: '1.2.3.4', family: 4 },
    ]);
  });

  it('reads a set\'s shape from ipset save and says why a hand-made one cannot be used as it is', () => {
    const save = (create: string, ...adds: string[]) => [`create f2g-v4 ${create}`, ...adds.map((a) => `add f2g-v4 ${a}`)].join('\n');
    const ok = parseSavedSet(save('hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1', '10.0.0.0/8'), 'f2g-v4', 4);
    expect(ok).toMatchObject({ exists: true, type: 'hash:net', family: 'inet', maxelem: 65536, nomatch: 0, entries: [{ cidr: '10.0.0.0/8', family: 4 }] });
    expect(shapeProblem(ok, 4)).toBeUndefined();
    expect(shapeProblem(parseSavedSet(save('hash:ip family inet hashsize 1024 maxelem 65536', '10.0.0.1'), 'f2g-v4', 4), 4))
      .toEqual({ problem: 'is hash:ip family inet, not hash:net family inet', swappable: false });
    expect(shapeProblem(parseSavedSet(save('hash:net family inet6 hashsize 1024'), 'f2g-v4', 4), 4)?.swappable).toBe(false);
    expect(shapeProblem(parseSavedSet(save('hash:net family inet hashsize 1024 maxelem 10 timeout 600'), 'f2g-v4', 4), 4))
      .toEqual({ problem: 'has a default timeout of 600s (bans would expire in the kernel)', swappable: true });
    const nomatch = parseSavedSet(save('hash:net family inet', '10.0.0.0/8 nomatch', '10.1.0.0/16'), 'f2g-v4', 4);
    expect(nomatch.entries.map((e) => e.cidr)).toEqual(['10.1.0.0/16']);
    expect(shapeProblem(nomatch, 4)?.problem).toMatch(/1 nomatch member/);
    expect(parseSavedSet(save('hash:ip,port family inet', '10.0.0.1,tcp:22'), 'f2g-v4', 4).entries).toEqual([]);
    expect(parseSetHeader('Name: f2g-v4\nType: hash:ip\nRevision: 6\nHeader: family inet hashsize 1024 maxelem 4 bucketsize 12 initval 0x1\nSize in memory: 200\nReferences: 2\nNumber of entries: 3\n'))
      .toEqual({ type: 'hash:ip', family: 'inet', maxelem: 4, references: 2, size: 3 });
    expect(failedRestoreLine('ipset v7.17: Error in line 3: Hash is full, cannot add more elements\n')).toEqual({ line: 3, why: 'Hash is full, cannot add more elements' });
  });

  it('renders one batch: missing sets created, deletes before adds, every line -exist', () => {
    const text = renderIpsetRestore(
      { add: [entry('2001:db8::/48'), entry('10.0.0.1')], remove: [{ cidr: '10.0.0.0/8', family: 4 }] },
      setNames('f2g'), 1000, (s) => s === 'f2g-v6',
    );
    expect(text).toBe([
      'create f2g-v6 hash:net family inet6 hashsize 1024 maxelem 1000 -exist',
      'del f2g-v4 10.0.0.0/8 -exist',
      'add f2g-v6 2001:db8::/48 -exist',
      'add f2g-v4 10.0.0.1 -exist',
      '',
    ].join('\n'));
  });
});

describe('ipset options', () => {
  const deps = testDeps(async () => ({ stdout: '', stderr: '' }));
  it('refuses an unknown enforce value with one line naming the target', () => {
    expect(() => createIpset('kernel', { enforce: 'output' }, deps)).toThrow(/target "kernel" \(ipset\): option enforce must be one of input, forward, both, none/);
  });
  it('refuses a set name too long for the kernel', () => {
    expect(() => createIpset('kernel', { setName: 'x'.repeat(29) }, deps)).toThrow(/option setName/);
  });
  it('refuses unknown options (typos never fall back to defaults)', () => {
    expect(() => createIpset('kernel', { setname: 'a' }, deps)).toThrow(/unknown option "setname"/);
  });
});

kernel('ipset enforcement', () => {
  it('inserts each rule once, however often it applies, and follows enforce changes', async () => {
    const ns = await createNetns('f2gipr');
    try {
      const setName = uniqueName('r', 8);
      const count = async (tool: string, chain: string) =>
        (await ns.run(tool, ['-S', chain])).stdout.split('\n').filter((l) => l.includes(`${setName}-v`)).length;
      const both = ipsetIn(ns, { setName, enforce: 'both' });
      for (let i = 0; i < 3; i++) await both.apply({ add: [entry('192.0.2.1'), entry('2001:db8::1')], remove: [] });
      expect([await count('iptables', 'INPUT'), await count('iptables', 'FORWARD')]).toEqual([1, 1]);
      expect([await count('ip6tables', 'INPUT'), await count('ip6tables', 'FORWARD')]).toEqual([1, 1]);
      await ipsetIn(ns, { setName, enforce: 'forward' }).apply({ add: [], remove: [] });
      expect([await count('iptables', 'INPUT'), await count('iptables', 'FORWARD')]).toEqual([0, 1]);
      const none = ipsetIn(ns, { setName, enforce: 'none' });
      await none.apply({ add: [], remove: [] });
      expect([await count('ip6tables', 'INPUT'), await count('ip6tables', 'FORWARD')]).toEqual([0, 0]);
      expect(await observedKeys(none)).toEqual(['192.0.2.1', '2001:db8::1']);
    } finally {
      await ns.destroy();
    }
  });

  it('asks for a repair while a DROP rule is gone, and applying the empty plan restores the rule', async () => {
    const ns = await createNetns('f2gipd');
    try {
      const setName = uniqueName('d', 8);
      const target = ipsetIn(ns, { setName, enforce: 'input' });
      await target.apply({ add: [entry('192.0.2.1'), entry('2001:db8::1')], remove: [] });
      await ns.run('ip6tables', ['-D', 'INPUT', '-m', 'set', '--match-set', `${setName}-v6`, 'src', '-j', 'DROP']);
      const held = await target.observe();
      expect(held.map((e) => e.cidr)).toEqual(['192.0.2.1', '2001:db8::1']);
      expect(target.needsRepair?.()).toBe(true);
      const plan = planFor(['192.0.2.1', '2001:db8::1'], held);
      expect(plan).toEqual({ add: [], remove: [] });
      await target.apply(plan);
      expect(await observedKeys(target)).toEqual(['192.0.2.1', '2001:db8::1']);
      expect(target.needsRepair?.()).toBe(false);
      expect((await ns.run('ip6tables', ['-S', 'INPUT'])).stdout).toContain(`--match-set ${setName}-v6 src -j DROP`);
    } finally {
      await ns.destroy();
    }
  });

  it('uses a set someone created by hand with other parameters instead of failing', async () => {
    const ns = await createNetns('f2giph');
    try {
      const setName = uniqueName('h', 8);
      await ns.run('ipset', ['create', `${setName}-v4`, 'hash:net', 'maxelem', '4096']);
      await ns.run('ipset', ['add', `${setName}-v4`, '203.0.113.0/24']);
      const target = ipsetIn(ns, { setName });
      // its member is held but not enforced yet (no DROP rule): a repair is asked for
      expect((await target.observe()).map((e) => e.cidr)).toEqual(['203.0.113.0/24']);
      expect(target.needsRepair?.()).toBe(true);
      await target.apply({ add: [entry('198.51.100.1')], remove: [] });
      expect(await observedKeys(target)).toEqual(['198.51.100.1', '203.0.113.0/24']);
    } finally {
      await ns.destroy();
    }
  });

  it('one member the kernel refuses does not hold back the others, and is named in one line', async () => {
    const ns = await createNetns('f2gipb');
    try {
      const setName = uniqueName('b', 8);
      // the kernel refuses one member of the batch (as it would a full hash): only that line is dropped
      const poison = `add ${setName}-v4 192.0.2.66 -exist`;
      const run: Runner = async (cmd, args, o) => {
        const lines = typeof o?.input === 'string' ? o.input.split('\n') : [];
        const at = lines.indexOf(poison);
        if (cmd === 'ipset' && args[0] === 'restore' && at >= 0) {
          throw new ExecError('E_EXEC_FAILED', 'ipset', 1, `ipset v7.17: Error in line ${at + 1}: Kernel error received: Hash is full, cannot add more elements\n`, 'ipset failed');
        }
        return ns.run(cmd, args, o);
      };
      const target = createIpset('kernel', { setName }, testDeps(run));
      const err = await target.apply({ add: ['192.0.2.1', '192.0.2.66', '192.0.2.99', '2001:db8::1'].map(entry), remove: [] }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toBe(`target "kernel" (ipset): 1 set changes failed, the others were applied: add ${setName}-v4 192.0.2.66 (Kernel error received: Hash is full, cannot add more elements)`);
      expect(await observedKeys(target)).toEqual(['192.0.2.1', '192.0.2.99', '2001:db8::1']);
      expect(target.needsRepair?.()).toBe(false);
    } finally {
      await ns.destroy();
    }
  });

  it('fails alone, as one line naming the target, when ipset is missing', async () => {
    const ns = await createNetns('f2gipm');
    try {
      // the missing binary is looked up on the host (nothing runs there); everything else in the netns
      const run: Runner = (cmd, args, o) => (cmd === 'ipset' ? execRunner('ipset-not-installed', args, o) : ns.run(cmd, args, o));
      const target = createIpset('kernel', {}, testDeps(run));
      await expect(target.apply({ add: [entry('192.0.2.1')], remove: [] })).rejects.toMatchObject({
        code: 'E_TARGET_TOOL_MISSING', target: 'kernel',
      });
    } finally {
      await ns.destroy();
    }
  });
});
