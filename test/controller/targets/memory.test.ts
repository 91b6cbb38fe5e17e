import { describe, expect, it } from 'vitest';
import { createMemoryTarget } from '../../../controller/targets/memory.js';
import { entry, testTarget } from '../../helpers/target-contract.js';

// The reference target passes the same conformance suite as the real drivers. Its only
// "foreign state" is a neighbour store, which it must never touch.
testTarget('memory', async () => {
  const neighbour = new Set<string>();
  return {
    target: createMemoryTarget('mem'),
    foreign: {
      seed: async () => { neighbour.add('10.0.0.0/8').add('2001:db8::/32'); },
      snapshot: async () => [...neighbour].sort().join('\n'),
    },
    cleanup: async () => undefined,
  };
}, { bulk: 5000, states: false });

describe('memory target faults (for reconcile tests)', () => {
  it('fail: observe or apply throws a TargetError naming the target', async () => {
    await expect(createMemoryTarget('a', { fail: 'observe' }).observe()).rejects.toMatchObject({ code: 'E_MEMORY_FAULT', target: 'a' });
    await expect(createMemoryTarget('b', { fail: 'apply' }).apply({ add: [entry('192.0.2.1')], remove: [] })).rejects.toMatchObject({ target: 'b' });
  });
  it('dropRemovals: apply ignores removals (a lying driver)', async () => {
    const t = createMemoryTarget('c', { dropRemovals: true, store: new Set(['192.0.2.1']) });
    await t.apply({ add: [], remove: [{ cidr: '192.0.2.1', family: 4 }] });
    expect([...t.store]).toEqual(['192.0.2.1']);
  });
  it('reports its protected addresses', async () => {
    expect(await createMemoryTarget('d', { protectedAddresses: ['192.0.2.9'] }).protectedAddresses!()).toEqual(['192.0.2.9']);
  });
});
