import { afterEach, describe, it, expect } from 'vitest';
import { endpointHosts, hostAddresses, parseIpAddrJson, protectedAddresses, remoteHost, resolveHost } from '../../../controller/desired/protected.js';
import type { TargetDoc } from '../../../controller/ledger/types.js';
import { createNetns, kernelSkipReason, type Netns } from '../../helpers/netns.js';

describe('remoteHost', () => {
  const cases: [string, string | undefined][] = [
    ['git@git.example.org:ops/ledger.git', 'git.example.org'],
    ['ssh://fail2git@10.0.0.5:2222/srv/ledger.git', '10.0.0.5'],
    ['https://user:tok@git.example.org/ops/ledger.git', 'git.example.org'],
    ['git://127.0.0.1:9418/ledger.git', '127.0.0.1'],
    ['ssh://[2001:db8::7]:22/ledger.git', '2001:db8::7'],
    ['https://pve1.example.org:8006/api2/json', 'pve1.example.org'],
    ['/srv/git/ledger.git', undefined],
    ['./ledger.git', undefined],
    ['file:///srv/git/ledger.git', undefined],
  ];
  for (const [url, host] of cases) it(`${url} → ${host ?? 'no host'}`, () => expect(remoteHost(url)).toBe(host));
});

describe('parseIpAddrJson', () => {
  it('takes every local address of every link', () => {
    const text = JSON.stringify([
      { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1' }, { family: 'inet6', local: '::1' }] },
      { ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.10', prefixlen: 24 }, { family: 'inet6', local: 'fe80::1' }] },
      { ifname: 'dummy0' },
    ]);
    expect(parseIpAddrJson(text)).toEqual(['127.0.0.1', '::1', '192.0.2.10', 'fe80::1']);
  });
  it('garbage gives nothing rather than an exception', () => {
    expect(parseIpAddrJson('not json')).toEqual([]);
    expect(parseIpAddrJson('{}')).toEqual([]);
  });
});

describe('endpointHosts', () => {
  it('hosts of `url` options in target documents', () => {
    const doc = (name: string, options: Record<string, unknown>): TargetDoc => ({ apiVersion: 'fail2git/v1', kind: 'Target', metadata: { name }, spec: { driver: 'pve-api', options } });
    expect(endpointHosts([doc('a', { url: 'https://10.9.8.7:8006' }), doc('b', { path: '/x' })])).toEqual(['10.9.8.7']);
  });
});

describe('resolveHost', () => {
  it('resolves localhost and passes IP literals through', async () => {
    expect(await resolveHost('127.0.0.1')).toEqual(['127.0.0.1']);
    expect(await resolveHost('localhost')).toContain('127.0.0.1');
  });
});

describe('protectedAddresses', () => {
  it('a failing source is reported and the others still protect', async () => {
    const errors: string[] = [];
    const broken = async (): Promise<never> => { throw new Error('ip: not found'); };
    const all = await protectedAddresses({ run: broken, remote: 'ssh://git@localhost/x', targetDocs: [], fromTargets: ['192.0.2.1'], onError: (s) => errors.push(s) });
    expect(all).toEqual(expect.arrayContaining(['192.0.2.1', '127.0.0.1']));
    expect(errors).toEqual(['host addresses']);
  });
});

const skip = kernelSkipReason(['ip']);
describe.skipIf(skip !== undefined)('host addresses in a network namespace', () => {
  let ns: Netns | undefined;
  afterEach(async () => {
    await ns?.destroy();
    ns = undefined;
  });
  it('finds the addresses configured on the (namespace\'s) interfaces, plus the remote and targets', async () => {
    ns = await createNetns('f2gp');
    // Extra addresses on the namespace's loopback (no dummy/veth module needed).
    await ns.run('ip', ['addr', 'add', '192.0.2.77/32', 'dev', 'lo']);
    await ns.run('ip', ['addr', 'add', '2001:db8:77::1/128', 'dev', 'lo']);
    expect(await hostAddresses(ns.run)).toEqual(expect.arrayContaining(['127.0.0.1', '192.0.2.77', '2001:db8:77::1']));
    const errors: string[] = [];
    const all = await protectedAddresses({
      run: ns.run, remote: 'git://198.51.100.9/ledger.git', targetDocs: [], fromTargets: ['203.0.113.5'],
      onError: (s) => errors.push(s),
    });
    expect(all).toEqual(expect.arrayContaining(['192.0.2.77', '198.51.100.9', '203.0.113.5']));
    expect(errors).toEqual([]);
  });
});
