import { afterAll, describe, expect, it } from 'vitest';
import { createRoute } from '../../../controller/targets/route.js';
import { checkProto, failedBatchLines, parseIpRouteJson, renderRouteBatch } from '../../../controller/targets/route-format.js';
import type { Target } from '../../../controller/targets/types.js';
import { execRunner, type Runner } from '../../../controller/lib/exec.js';
import { createNetns, destroyAllNetns, kernelSkipReason, type Netns } from '../../helpers/netns.js';
import { entry, observedKeys, testTarget, type StartingState, type TargetFixture } from '../../helpers/target-contract.js';
import { testDeps } from '../../helpers/target-deps.js';
import { routesExcept } from '../../helpers/kernel-state.js';

const skip = kernelSkipReason(['ip']);
const kernel = skip ? describe.skip : describe;
afterAll(destroyAllNetns);

const PROTO = 250;

function routeIn(ns: Netns, options: Record<string, unknown> = { proto: PROTO }): Target {
  return createRoute('blackholes', options, testDeps(ns.run));
}

/** Foreign routes: other protos, other types, another table, a neighbouring proto number. */
function foreignRoutes(ns: Netns) {
  return {
    async seed() {
      const cmds = [
        'route add blackhole 10.99.0.0/16 proto static',
        'route add blackhole 198.51.100.0/24 proto 251',
        'route add unreachable 192.0.2.64/26 proto 250',
        'route add blackhole 203.0.113.0/24 proto 250 table 100',
        'route add blackhole 2001:db8:beef::/48 proto 252',
        'route add prohibit 2001:db8:cafe::/48',
      ];
      await ns.run('ip', ['-batch', '-'], { input: cmds.join('\n') + '\n' });
    },
    snapshot: () => routesExcept(ns, PROTO).then(async (rest) =>
      // routes of our proto that are not main-table blackholes are foreign too
      `${rest}\n${(await ns.run('ip', ['route', 'show', 'table', 'all', 'proto', String(PROTO), 'type', 'unreachable'])).stdout}` +
      (await ns.run('ip', ['route', 'show', 'table', '100'])).stdout),
  };
}

interface RouteFixture extends TargetFixture {
  ns: Netns;
}

const ROUTE_STATES: StartingState<RouteFixture>[] = [
  {
    name: 'wrong type: banned networks held by routes of our proto that are unreachable, prohibit or unicast',
    damage: async ({ ns }) => {
      await ns.run('ip', ['route', 'replace', 'unreachable', '192.0.2.128/25', 'proto', String(PROTO)]);
      await ns.run('ip', ['route', 'replace', 'prohibit', '100.64.0.0/16', 'proto', String(PROTO)]);
      await ns.run('ip', ['link', 'set', 'lo', 'up']);
      await ns.run('ip', ['route', 'add', '10.200.0.0/16', 'dev', 'lo', 'proto', String(PROTO)]);
      await ns.run('ip', ['-6', 'route', 'replace', 'unreachable', '2001:db8:dead::/48', 'proto', String(PROTO)]);
    },
    check: async ({ ns }) => {
      for (const fam of ['-4', '-6']) {
        const left = (await ns.run('ip', [fam, 'route', 'show', 'proto', String(PROTO)])).stdout.split('\n').filter((l) => l && !l.startsWith('blackhole '));
        // only the foreign fixture's unreachable 192.0.2.64/26 (not banned) stays
        expect(left.filter((l) => !l.startsWith('unreachable 192.0.2.64/26'))).toEqual([]);
      }
    },
  },
  {
    name: 'half-applied: some of our routes deleted, one added by hand',
    damage: async ({ ns }) => {
      await ns.run('ip', ['route', 'del', 'blackhole', '198.51.100.7', 'proto', String(PROTO)]);
      await ns.run('ip', ['route', 'del', 'blackhole', '192.0.2.128/25', 'proto', String(PROTO)]);
      await ns.run('ip', ['route', 'add', 'blackhole', '192.0.2.77', 'proto', String(PROTO)]);
    },
  },
];

testTarget('route', async (): Promise<RouteFixture> => {
  const ns = await createNetns('f2grt');
  return { ns, target: routeIn(ns), foreign: foreignRoutes(ns), cleanup: () => ns.destroy() };
}, { describe: kernel, bulk: 5000, states: ROUTE_STATES });

describe('route text', () => {
  it('reads blackhole routes, host routes without /32, and sets aside what is not a ban', () => {
    const json = '[{"type":"blackhole","dst":"10.0.0.0/8","flags":[]},{"type":"blackhole","dst":"1.2.3.4","flags":[]},' +
      '{"type":"blackhole","dst":"2001:db8::1","dev":"lo"},{"type":"blackhole","dst":"default"},{"type":"unicast","dst":"9.9.9.9"}]';
    expect(parseIpRouteJson(json)).toEqual({
      entries: [{ cidr: '10.0.0.0/8', family: 4 }, { cidr: '1.2.3.4', family: 4 }, { cidr: '2001:db8::1', family: 6 }],
      strange: ['default'],
      wrongType: [{ cidr: '9.9.9.9', type: 'unicast' }],
    });
    expect(parseIpRouteJson('')).toEqual({ entries: [], strange: [], wrongType: [] });
  });

  it('renders deletes then adds, each naming the proto', () => {
    expect(renderRouteBatch({ add: [entry('2001:db8::/48')], remove: [{ cidr: '10.0.0.0/8', family: 4 }] }, '250')).toEqual([
      'route del blackhole 10.0.0.0/8 proto 250',
      'route add blackhole 2001:db8::/48 proto 250',
    ]);
  });

  it('maps ip batch failures back to the lines that failed', () => {
    const lines = ['route add blackhole 1.1.1.1 proto 250', 'route add blackhole 10.0.0.0/8 proto 250'];
    expect(failedBatchLines('RTNETLINK answers: File exists\nCommand failed -:2\n', lines))
      .toEqual(['route add blackhole 10.0.0.0/8 proto 250 (File exists)']);
  });

  it('refuses kernel-reserved protos, which would own everybody\'s routes', () => {
    expect(checkProto('4')).toMatch(/static.*reserved/);
    expect(checkProto('kernel')).toMatch(/reserved/);
    expect(checkProto('256')).toMatch(/5-255/);
    expect(checkProto('250')).toBeUndefined();
    expect(checkProto('fail2git')).toBeUndefined();
    const deps = testDeps(async () => ({ stdout: '', stderr: '' }));
    expect(() => createRoute('bh', { proto: 2 }, deps)).toThrow(/target "bh" \(route\): option proto "2": 2 \(kernel\) is reserved/);
  });
});

kernel('route in the kernel', () => {
  it('makes the kernel route banned addresses into a blackhole', async () => {
    const ns = await createNetns('f2grk');
    try {
      // a real default route, so "not banned" means routed, not unreachable
      await ns.run('ip', ['-batch', '-'], { input: 'link add f2gv0 type veth peer name f2gv1\naddr add 10.250.0.1/24 dev f2gv0\nlink set f2gv0 up\nlink set f2gv1 up\nroute add default via 10.250.0.2\n' });
      expect((await ns.run('ip', ['route', 'get', '198.51.100.7'])).stdout).toMatch(/via 10\.250\.0\.2/);
      const target = routeIn(ns);
      await target.apply({ add: [entry('198.51.100.0/24')], remove: [] });
      // the kernel answers a lookup that hits a blackhole with EINVAL: nothing is routed there
      await expect(ns.run('ip', ['route', 'get', '198.51.100.7'])).rejects.toThrow(/Invalid argument/);
      expect((await ns.run('ip', ['route', 'get', '198.51.101.7'])).stdout).toMatch(/via 10\.250\.0\.2/);
      await target.apply({ add: [], remove: await target.observe() });
      expect((await ns.run('ip', ['route', 'get', '198.51.100.7'])).stdout).toMatch(/via 10\.250\.0\.2/);
    } finally {
      await ns.destroy();
    }
  });

  it('reports a conflict with a foreign route to the same network, and still applies the rest', async () => {
    const ns = await createNetns('f2grc');
    try {
      await ns.run('ip', ['route', 'add', 'blackhole', '10.0.0.0/8', 'proto', 'static']);
      const target = routeIn(ns);
      await expect(target.apply({ add: ['10.0.0.0/8', '192.0.2.1', '2001:db8::/48'].map(entry), remove: [] }))
        .rejects.toThrow(/target "blackholes" \(route\): 1 of 3 route changes failed: route add blackhole 10\.0\.0\.0\/8 proto 250 \(File exists\)/);
      expect(await observedKeys(target)).toEqual(['192.0.2.1', '2001:db8::/48']);
      expect((await ns.run('ip', ['route', 'show', '10.0.0.0/8'])).stdout).toMatch(/proto static/);
    } finally {
      await ns.destroy();
    }
  });

  it('accepts a proto given by name from rt_protos', async () => {
    const ns = await createNetns('f2grn');
    try {
      const target = routeIn(ns, { proto: 'babel' }); // 42 in the stock rt_protos
      await target.apply({ add: [entry('192.0.2.5')], remove: [] });
      expect((await ns.run('ip', ['route', 'show', 'proto', '42'])).stdout).toMatch(/^blackhole 192\.0\.2\.5/);
      expect(await observedKeys(target)).toEqual(['192.0.2.5']);
    } finally {
      await ns.destroy();
    }
  });
});

describe('route without its program', () => {
  it('fails alone, as one line naming the target, with E_TARGET_TOOL_MISSING', async () => {
    // only the missing binary is looked up (on the host, where nothing runs); any other program is refused
    const run: Runner = (cmd, args, o) => (cmd === 'ip' ? execRunner('ip-not-installed', args, o) : Promise.reject(new Error(`unexpected ${cmd}`)));
    const target = createRoute('t1', { proto: 250 }, testDeps(run));
    await expect(target.observe()).rejects.toMatchObject({ code: 'E_TARGET_TOOL_MISSING', target: 't1', message: expect.stringMatching(/^target "t1" \(route\): .*ip-not-installed: command not found/) });
    await expect(target.apply({ add: [entry('192.0.2.1')], remove: [] })).rejects.toMatchObject({ code: 'E_TARGET_TOOL_MISSING' });
  });
});
