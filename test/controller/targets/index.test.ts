import { describe, expect, it } from 'vitest';
import { DRIVER_NAMES, createTarget, loadDriver } from '../../../controller/targets/index.js';
import type { TargetDoc } from '../../../controller/ledger/types.js';
import { testDeps } from '../../helpers/target-deps.js';

const deps = { ...testDeps(async () => ({ stdout: '', stderr: '' })), sinks: { stateDir: '/nonexistent-f2g-state', configPath: 'c.yaml', writablePaths: { file: ['/tmp/'] } } };

function doc(driver: string, options: Record<string, unknown> = {}): TargetDoc {
  return { apiVersion: 'fail2git/v1', kind: 'Target', metadata: { name: 't1' }, spec: { driver: driver as TargetDoc['spec']['driver'], options } };
}

describe('driver registry', () => {
  it('knows every driver the design names', () => {
    expect([...DRIVER_NAMES].sort()).toEqual(['file', 'ipset', 'nftables', 'pve-api', 'pve-clusterfw', 'route']);
  });

  it('builds each Linux driver from a Target document', async () => {
    for (const [driver, options] of [['ipset', {}], ['nftables', { table: 'x' }], ['route', { proto: 250 }], ['file', { path: '/tmp/f2g-registry-x.txt' }]] as const) {
      const t = await createTarget(doc(driver, options), deps);
      expect([t.name, t.driver]).toEqual(['t1', driver]);
    }
  });

  it('loads the Proxmox drivers lazily, as factories', async () => {
    for (const d of ['pve-clusterfw', 'pve-api']) expect(typeof await loadDriver('t1', d)).toBe('function');
  });

  it('refuses an unknown driver, listing the known ones', async () => {
    await expect(createTarget(doc('iptables'), deps)).rejects.toMatchObject({
      code: 'E_TARGET_DRIVER',
      message: 'target "t1": unknown driver "iptables" (known: ipset, nftables, route, file, pve-clusterfw, pve-api)',
    });
  });

  it('reports bad options as one line naming the target', async () => {
    await expect(createTarget(doc('ipset', { enforce: 'sideways' }), deps)).rejects.toThrow(/^target "t1" \(ipset\): option enforce/);
  });
});
