import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPveApi } from '../../../controller/targets/pve-api.js';
import { PveApiClient } from '../../../controller/targets/pve/api-client.js';
import type { Target } from '../../../controller/targets/types.js';
import { syncTarget } from '../../../controller/reconcile/target.js';
import { DEFAULT_POLICY } from '../../../controller/ledger/types.js';
import { execRunner } from '../../../controller/lib/exec.js';
import { parseClusterFw, proxmoxRewrite, PveEmulator } from '../../helpers/pve-emulator.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';
import { entry, observedKeys, testTarget, type StartingState, type TargetFixture } from '../../helpers/target-contract.js';
import { testDeps, type RecordingDeps } from '../../helpers/target-deps.js';

const WRITER = 'sync@pve!ipset';
const READER = 'audit@pve!ro';
const SECRET = randomUUID();
const RO_SECRET = randomUUID();
const running: PveEmulator[] = [];
afterAll(cleanupTmp);
afterEach(async () => { while (running.length) await running.pop()!.close(); });

async function emulator(opts: ConstructorParameters<typeof PveEmulator>[0] = {}): Promise<PveEmulator> {
  const emu = await PveEmulator.start({
    tokens: { [WRITER]: { secret: SECRET, privs: ['Sys.Audit', 'Sys.Modify'] }, [READER]: { secret: RO_SECRET, privs: ['Sys.Audit'] } },
    authFailDelayMs: 50,
    ...opts,
  });
  running.push(emu);
  return emu;
}

function secretFile(secret = SECRET, mode = 0o600): string {
  const path = join(tmpDir('f2g-secret'), 'token');
  writeFileSync(path, `${secret}\n`, { mode });
  return path;
}

function apiTarget(emu: PveEmulator, options: Record<string, unknown> = {}, deps: RecordingDeps = testDeps(execRunner)): Target {
  return createPveApi('dc-api', {
    url: emu.url, tokenId: WRITER, tokenSecretFile: secretFile(), fingerprint: emu.fingerprint256, retryBaseMs: 5, ...options,
  }, deps);
}

const FOREIGN = `[OPTIONS]
enable: 1

[IPSET fail2ban]
10.9.9.9 # hand-made, not ours
!10.9.9.0/28
192.0.2.200 # fail2git-like but not our marker
[IPSET other]
198.51.100.7 # fail2git but another set
`;

interface ApiFixture extends TargetFixture {
  emu: PveEmulator;
}

const API_STATES: StartingState<ApiFixture>[] = [
  {
    name: 'wrong type: members of ours turned into exceptions (nomatch), which un-ban',
    damage: async ({ emu }) => {
      emu.clusterFw = emu.clusterFw.replace(/^(192\.0\.2\.128\/25 # fail2git)/m, '!$1').replace(/^(198\.51\.100\.7 # fail2git)/m, '!$1');
    },
    check: async ({ emu }) => expect(emu.clusterFw).not.toMatch(/^!.*# fail2git/m),
  },
  {
    name: 'wrong type: the IPSet recreated by hand with another comment, holding one of our members',
    foreign: 'after-damage',
    damage: async ({ emu }) => {
      const conf = parseClusterFw(emu.clusterFw);
      const ours = conf.ipsets.get('fail2ban')!.entries.filter((e) => e.comment?.startsWith('fail2git ')).slice(0, 1);
      conf.ipsets.delete('fail2ban');
      emu.clusterFw = proxmoxRewrite(`${emu.clusterFw.replace(/\[IPSET fail2ban\][^[]*/, '')}\n[IPSET fail2ban] # made by hand\n${ours.map((e) => `${e.cidr} # ${e.comment}`).join('\n')}\n`);
    },
  },
  {
    name: 'half-applied: the IPSet deleted by hand',
    foreign: 'after-damage',
    damage: async ({ emu }) => {
      emu.clusterFw = proxmoxRewrite(emu.clusterFw.replace(/\[IPSET fail2ban\][^[]*/, ''));
    },
  },
  {
    name: 'half-applied: some of our members deleted, one with our marker added by hand',
    damage: async ({ emu }) => {
      emu.clusterFw = emu.clusterFw.replace(/^198\.51\.100\.7 # fail2git.*\n/m, '').replace(/^(\[IPSET fail2ban\].*\n)/m, '$1192.0.2.77 # fail2git manual@someone permanent\n');
    },
  },
];

testTarget('pve-api', async (): Promise<ApiFixture> => {
  const emu = await emulator();
  const target = apiTarget(emu);
  return {
    emu,
    target,
    foreign: {
      async seed() { emu.clusterFw = proxmoxRewrite(FOREIGN); },
      async snapshot() {
        const conf = parseClusterFw(emu.clusterFw);
        const mine = (c?: string) => c?.startsWith('fail2git ') ?? false;
        // our set itself (created when missing) is ours: only its foreign members count
        return JSON.stringify([...conf.ipsets.values()].map((s) => [s.name, s.entries.filter((e) => s.name !== 'fail2ban' || !mine(e.comment))] as const)
          .filter(([name, entries]) => name !== 'fail2ban' || entries.length > 0));
      },
    },
    async cleanup() { /* emulators close in afterEach */ },
  };
}, { states: API_STATES });

describe('pve-api against the emulator: auth, TLS and secrets', () => {
  it('fails with 401 on a wrong secret, after the delay, and never shows the secret', async () => {
    const emu = await emulator({ authFailDelayMs: 150 });
    const wrong = randomUUID();
    const deps = testDeps(execRunner);
    const t = apiTarget(emu, { tokenSecretFile: secretFile(wrong) }, deps);
    const started = Date.now();
    const err = (await t.observe().catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe('E_PVE_AUTH');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(err.message).toMatch(/401 Authentication failed!.*tokenId/);
    expect(JSON.stringify([err.message, String(err.stack), deps.events])).not.toContain(wrong);
    await t.close!();
  });

  it('gets 403 for a token without Sys.Modify: reads work, writes fail once without retries', async () => {
    const emu = await emulator({ clusterFw: '[OPTIONS]\nenable: 1\n[IPSET fail2ban]\n' });
    const t = apiTarget(emu, { tokenId: READER, tokenSecretFile: secretFile(RO_SECRET) });
    expect(await t.observe()).toEqual([]);
    const err = (await t.apply({ add: [entry('198.51.100.1'), entry('198.51.100.2')], remove: [] }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^POST \/cluster\/firewall\/ipset\/fail2ban: 403 Permission check failed \(\/, Sys\.Modify\)/);
    expect(emu.count('POST')).toBe(1);
    await t.close!();
  });

  it('refuses a server whose certificate does not match the pinned fingerprint, before sending anything', async () => {
    const emu = await emulator();
    const wrongPin = emu.fingerprint256.replace(/^../, emu.fingerprint256.startsWith('00') ? '11' : '00');
    const t = apiTarget(emu, { fingerprint: wrongPin });
    await expect(t.observe()).rejects.toThrow(/does not match the pinned/);
    expect(emu.requests).toEqual([]);
    await t.close!();
  });

  it('verifies against caFile, and refuses the self-signed server when neither pin nor CA is given', async () => {
    const emu = await emulator();
    const viaCa = apiTarget(emu, { fingerprint: undefined, caFile: emu.caFile });
    expect(await viaCa.observe()).toEqual([]);
    const unverified = apiTarget(emu, { fingerprint: undefined, retries: 0 });
    await expect(unverified.observe()).rejects.toMatchObject({ code: 'E_PVE_NETWORK' });
    await viaCa.close!();
    await unverified.close!();
  });

  it('refuses a secret file others can read, and bad options, at construction', async () => {
    const emu = await emulator();
    expect(() => apiTarget(emu, { tokenSecretFile: secretFile(SECRET, 0o644) })).toThrow(/mode 0644.*chmod 600/);
    expect(() => apiTarget(emu, { tokenId: 'no-realm' })).toThrow(/USER@REALM!TOKENID/);
    expect(() => apiTarget(emu, { url: emu.url.replace('https', 'http') })).toThrow(/https/);
    expect(() => apiTarget(emu, { ipset: 'Fail2Ban' })).toThrow(/lower-case/);
    expect(() => apiTarget(emu, { concurrency: 0 })).toThrow(expect.objectContaining({ name: 'TargetError', code: 'E_TARGET_OPTION', message: 'target "dc-api" (pve-api): option concurrency must be a number ≥ 1' }));
  });

  it('protects the API host itself', async () => {
    const emu = await emulator();
    expect(await apiTarget(emu).protectedAddresses!()).toEqual(['127.0.0.1']);
  });
});

describe('pve-api against the emulator: Proxmox semantics', () => {
  it('a no-change run is exactly one GET', async () => {
    const emu = await emulator();
    const t = apiTarget(emu);
    await t.apply({ add: [entry('198.51.100.1'), entry('2001:db8::/48')], remove: [] });
    emu.requests.length = 0;
    expect(await observedKeys(t)).toEqual(['198.51.100.1', '2001:db8::/48']);
    expect(emu.requests).toEqual([{ method: 'GET', path: '/api2/json/cluster/firewall/ipset/fail2ban' }]);
    await t.close!();
  });

  it('creates the missing set, marks its entries, and Proxmox rewrites the file (comment lines gone, sorted)', async () => {
    const emu = await emulator({ clusterFw: '[RULES]\nIN DROP -source +dc/fail2ban\n\n# a comment line\n[OPTIONS]\nenable: 1\n' });
    const t = apiTarget(emu);
    expect(await t.observe()).toEqual([]);
    await t.apply({ add: ['203.0.113.0/24', '198.51.100.1'].map(entry), remove: [] });
    expect(emu.clusterFw).toBe('[OPTIONS]\n\nenable: 1\n\n[IPSET fail2ban] # fail2git managed bans\n\n' +
      '198.51.100.1 # fail2git manual@testhost permanent\n203.0.113.0/24 # fail2git manual@testhost permanent\n\n' +
      '[RULES]\n\nIN DROP -source +dc/fail2ban\n\n');
    await t.close!();
  });

  it('removes by the exact stored spelling (a normalised spelling would silently do nothing)', async () => {
    const emu = await emulator({ clusterFw: '[OPTIONS]\nenable: 1\n[IPSET fail2ban]\n2001:DB8::1 # fail2git sshd@web1 permanent\n' });
    const client = new PveApiClient('t', { baseUrl: `${emu.url}/api2/json`, tokenId: WRITER, secret: SECRET, fingerprint: emu.fingerprint256, timeoutMs: 5000, maxSockets: 1 });
    await client.call('DELETE', `/cluster/firewall/ipset/fail2ban/${encodeURIComponent('2001:db8::1')}`);
    expect(emu.clusterFw).toContain('2001:DB8::1');
    client.close();
    const t = apiTarget(emu);
    const held = await t.observe();
    expect(held).toEqual([{ cidr: '2001:db8::1', family: 6, raw: '2001:DB8::1' }]);
    expect(await t.apply({ add: [], remove: held })).toEqual({ added: 0, removed: 1 });
    expect(await t.observe()).toEqual([]);
    await t.close!();
  });

  it('re-reads and retries when the digest changed under it (someone else wrote)', async () => {
    const emu = await emulator();
    const t = apiTarget(emu);
    await t.apply({ add: ['198.51.100.1', '198.51.100.2'].map(entry), remove: [] });
    const held = await t.observe();
    emu.clusterFw = emu.clusterFw.replace('[IPSET fail2ban] # fail2git managed bans\n', '$&10.7.7.7 # by hand meanwhile\n');
    emu.requests.length = 0;
    expect(await t.apply({ add: [], remove: held.filter((e) => e.cidr === '198.51.100.1') })).toEqual({ added: 0, removed: 1 });
    expect(emu.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
    expect(emu.requests.every((r) => r.method !== 'DELETE' || r.path.includes('?digest='))).toBe(true);
    expect(await observedKeys(t)).toEqual(['198.51.100.2']);
    expect(emu.clusterFw).toContain('10.7.7.7 # by hand meanwhile');
    await t.close!();
  });

  it('treats 400 "already exists" on add and a vanished entry on delete as done', async () => {
    const emu = await emulator({ clusterFw: '[OPTIONS]\nenable: 1\n[IPSET fail2ban]\n198.51.100.7 # by hand\n198.51.100.9 # fail2git x@y permanent\n' });
    const t = apiTarget(emu);
    const held = await t.observe();
    emu.clusterFw = '[OPTIONS]\nenable: 1\n[IPSET fail2ban]\n198.51.100.7 # by hand\n';
    expect(await t.apply({ add: [entry('198.51.100.7')], remove: held })).toEqual({ added: 1, removed: 1 });
    expect(emu.clusterFw).toContain('198.51.100.7 # by hand');
    await t.close!();
  });

  it('rides out injected 500s, connection resets and slow answers', async () => {
    const emu = await emulator();
    const t = apiTarget(emu, { timeoutMs: 300 });
    emu.inject({ kind: 'status500', times: 2, method: 'POST' });
    emu.inject({ kind: 'reset', times: 1, method: 'POST' });
    emu.inject({ kind: 'slow', times: 1, method: 'GET', delayMs: 600 });
    await t.apply({ add: ['198.51.100.1', '198.51.100.2', '2001:db8::5'].map(entry), remove: [] });
    expect(await observedKeys(t)).toEqual(['198.51.100.1', '198.51.100.2', '2001:db8::5']);
    await t.close!();
  });

  it('gives up after the retries with one clear error naming how many changes failed', async () => {
    const emu = await emulator();
    const t = apiTarget(emu, { retries: 1 });
    emu.inject({ kind: 'status500', times: 100, method: 'POST' });
    await expect(t.apply({ add: [entry('198.51.100.1')], remove: [] })).rejects.toThrow(/POST \/cluster\/firewall\/ipset: 500 emulated internal server error/);
    emu.clusterFw = '[OPTIONS]\nenable: 1\n[IPSET fail2ban]\n';
    await t.observe();
    await expect(t.apply({ add: [entry('198.51.100.1')], remove: [] })).rejects.toThrow(/^1 of 1 changes failed \(0 added, 0 removed\); first: POST \/cluster\/firewall\/ipset\/fail2ban: 500 emulated internal server error$/);
    await t.close!();
  });

  it('serialises writes under the lock even with concurrency, retries lock timeouts, and logs progress', async () => {
    const emu = await emulator({ writeCostMs: 30, lockTimeoutMs: 50 });
    const deps = testDeps(execRunner);
    const t = apiTarget(emu, { concurrency: 3, progressEvery: 10, retries: 10 }, deps);
    const many = Array.from({ length: 25 }, (_, i) => entry(`10.20.${i}.0/24`));
    expect(await t.apply({ add: many, remove: [] })).toEqual({ added: 25, removed: 0 });
    expect(emu.maxConcurrentWrites).toBe(1);
    expect(emu.lockTimeouts).toBeGreaterThan(0);
    expect(deps.events.filter((e) => e.event === 'pve-api.progress').map((e) => e.fields?.done)).toEqual([10, 20]);
    expect((await t.observe()).length).toBe(25);
    await t.close!();
  });
});

describe('the emulator itself follows Proxmox', () => {
  it('rejects a body on GET/DELETE (501), normalises create_ip, refuses zero prefix, 500 for a missing set', async () => {
    const emu = await emulator();
    const client = new PveApiClient('t', { baseUrl: `${emu.url}/api2/json`, tokenId: WRITER, secret: SECRET, fingerprint: emu.fingerprint256, timeoutMs: 5000, maxSockets: 1 });
    await expect(client.call('GET', '/cluster/firewall/ipset/nope')).rejects.toMatchObject({ status: 500, message: expect.stringMatching(/no such IPSet 'nope'/) });
    await client.call('POST', '/cluster/firewall/ipset', { name: 'bl' });
    await client.call('POST', '/cluster/firewall/ipset/bl', { cidr: '10.0.0.1/24' });
    await client.call('POST', '/cluster/firewall/ipset/bl', { cidr: '1.2.3.4/32' });
    await client.call('POST', '/cluster/firewall/ipset/bl', { cidr: '2001:DB8::1' });
    await expect(client.call('POST', '/cluster/firewall/ipset/bl', { cidr: '10.0.0.0/0' })).rejects.toMatchObject({ status: 400, errors: { cidr: 'a zero prefix is not allowed in ipset entries' } });
    await expect(client.call('POST', '/cluster/firewall/ipset/bl', { cidr: '10.0.0.0/24' })).rejects.toMatchObject({ status: 400, errors: { cidr: "address '10.0.0.0/24' already exists" } });
    const got = (await client.call('GET', '/cluster/firewall/ipset/bl')) as { cidr: string; digest: string }[];
    expect(got.map((e) => e.cidr)).toEqual(['1.2.3.4', '10.0.0.0/24', '2001:DB8::1']);
    expect(new Set(got.map((e) => e.digest)).size).toBe(1);
    await expect(client.call('DELETE', '/cluster/firewall/ipset/bl/1.2.3.4', { digest: 'f'.repeat(40) })).rejects.toThrow(/detected modified configuration/);
    client.close();
    const { request } = await import('node:https');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${emu.url}/api2/json/cluster/firewall/ipset/bl/1.2.3.4`, {
        method: 'DELETE', ca: readFileSync(emu.caFile),
        headers: { authorization: `PVEAPIToken=${WRITER}=${SECRET}`, 'content-type': 'application/x-www-form-urlencoded', 'content-length': 8 },
      }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end('digest=x');
    });
    expect(status).toBe(501);
  });
});

describe('pve-api and members it does not own', () => {
  it('a ban a hand-made member of the IPSet already holds is not added again, and the run succeeds', async () => {
    const emu = await emulator();
    emu.clusterFw = proxmoxRewrite(FOREIGN);
    const target = apiTarget(emu);
    const doc = { apiVersion: 'fail2git/v1', kind: 'Target', metadata: { name: 'dc-api' }, spec: { driver: 'pve-api' } } as const;
    const input = {
      desired: [entry('10.9.9.9'), entry('198.51.100.20')], maxRemovePerRun: [DEFAULT_POLICY.maxRemovePerRun], dryRun: false, force: false,
      previousDesired: undefined, log: { info() {}, warn() {}, error() {} },
    };
    const run = await syncTarget({ doc, target }, input);
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ reason: 'Applied', folded: 1 });
    expect(await observedKeys(target)).toEqual(['198.51.100.20']);
    expect((await syncTarget({ doc, target }, input)).reason).toBe('UpToDate');
  });
});
