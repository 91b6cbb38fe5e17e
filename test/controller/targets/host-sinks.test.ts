/**
 * The host decides where targets write and whom they call (issue 11, item 1): each attack a
 * ledger pusher could try with a Target document is refused for that target alone, with
 * one line naming the option and the host config key, and nothing is written.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindTargetToHost, hostSinks, type HostSinks } from '../../../controller/targets/host-sinks.js';
import { createTarget } from '../../../controller/targets/index.js';
import type { TargetDoc } from '../../../controller/ledger/types.js';
import { reconcile, type ReconcileConfig } from '../../../controller/reconcile.js';
import { createMemoryLogger } from '../../../controller/lib/log.js';
import { execRunner } from '../../../controller/lib/exec.js';
import { makeLedgerRemote } from '../../helpers/git.js';
import { ledgerFiles } from '../../helpers/fixtures.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

const doc = (driver: string, options: Record<string, unknown> = {}, name = 'evil'): TargetDoc =>
  ({ apiVersion: 'fail2git/v1', kind: 'Target', metadata: { name }, spec: { driver: driver as TargetDoc['spec']['driver'], options } });

function host(extra: Partial<HostSinks> = {}): HostSinks & { root: string } {
  const root = tmpDir('f2g-sinks');
  const stateDir = join(root, 'state');
  mkdirSync(stateDir);
  return { root, ...hostSinks({ stateDir, path: join(root, 'config.yaml') }), ...extra };
}

describe('file and pve-clusterfw paths are bounded by writablePaths', () => {
  it('a default host writes file targets only below <stateDir>/lists/', async () => {
    const h = host();
    const opts = await bindTargetToHost(doc('file', {}, 'alias'), h);
    expect(opts.path).toBe(join(h.stateDir, 'lists', 'alias.txt'));
    expect(existsSync(join(h.stateDir, 'lists'))).toBe(true);
  });

  it('refuses /etc/passwd, naming the option and writablePaths.file', async () => {
    const h = host();
    await expect(bindTargetToHost(doc('file', { path: '/etc/passwd' }), h)).rejects.toMatchObject({
      code: 'E_TARGET_NOT_ALLOWED',
      message: expect.stringMatching(/^target "evil" \(file\): option path "\/etc\/passwd" is not among the paths this host lets targets write .*add the file \(or its directory, ending in \/\) to writablePaths\.file in .*config\.yaml/),
    });
  });

  it('resolves .. before the check', async () => {
    const h = host();
    const sneaky = join(h.stateDir, 'lists', '..', '..', 'victim.txt');
    await expect(bindTargetToHost(doc('file', { path: sneaky }), h)).rejects.toMatchObject({ code: 'E_TARGET_NOT_ALLOWED' });
  });

  it('resolves a symlinked directory inside an allowed one', async () => {
    const h = host();
    const outside = join(h.root, 'outside');
    mkdirSync(outside);
    mkdirSync(join(h.stateDir, 'lists'));
    symlinkSync(outside, join(h.stateDir, 'lists', 'link'));
    await expect(bindTargetToHost(doc('file', { path: join(h.stateDir, 'lists', 'link', 'x.txt') }), h)).rejects.toThrow(/resolves to .*outside\/x\.txt/);
  });

  it('refuses a file that is itself a symlink, even inside an allowed directory', async () => {
    const h = host();
    const victim = join(h.root, 'victim.conf');
    writeFileSync(victim, 'precious\n');
    mkdirSync(join(h.stateDir, 'lists'));
    symlinkSync(victim, join(h.stateDir, 'lists', 'alias.txt'));
    await expect(bindTargetToHost(doc('file', { path: join(h.stateDir, 'lists', 'alias.txt') }), h)).rejects.toThrow(/is a symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it("never writes fail2git's own state or host files, even when an admin lists their directory", async () => {
    const h = host();
    const wide = { ...h, writablePaths: { file: [`${h.root}/`] } };
    mkdirSync(join(h.stateDir, 'ledger', '.git'), { recursive: true });
    await expect(bindTargetToHost(doc('file', { path: join(h.stateDir, 'last-good.json') }), wide)).rejects.toThrow(/inside fail2git's state directory/);
    await expect(bindTargetToHost(doc('file', { path: join(h.stateDir, 'ledger', '.git', 'config') }), wide)).rejects.toThrow(/inside fail2git's state directory/);
    await expect(bindTargetToHost(doc('file', { path: join(h.root, 'config.yaml') }), wide)).rejects.toThrow(/one of this host's own fail2git files/);
    expect(await bindTargetToHost(doc('file', { path: join(h.root, 'www.txt') }), wide)).toMatchObject({ path: join(h.root, 'www.txt') });
  });

  it('a file entry allows that one file; a directory entry ends in /', async () => {
    const h = host();
    const one = { ...h, writablePaths: { file: [join(h.root, 'a.txt')] } };
    expect((await bindTargetToHost(doc('file', { path: join(h.root, 'a.txt') }), one)).path).toBe(join(h.root, 'a.txt'));
    await expect(bindTargetToHost(doc('file', { path: join(h.root, 'a.txt2') }), one)).rejects.toMatchObject({ code: 'E_TARGET_NOT_ALLOWED' });
  });

  it('pve-clusterfw: only /etc/pve/firewall/cluster.fw by default; another file under /etc/pve is refused', async () => {
    const h = host();
    await expect(bindTargetToHost(doc('pve-clusterfw', { path: '/etc/pve/priv/authkey.key' }), h)).rejects.toMatchObject({ code: 'E_TARGET_NOT_ALLOWED' });
    await expect(bindTargetToHost(doc('pve-clusterfw', { path: join(h.root, 'cluster.fw') }), h)).rejects.toThrow(/not among the paths .*\/etc\/pve\/firewall\/cluster\.fw/);
    const fw = join(h.root, 'cluster.fw');
    expect((await bindTargetToHost(doc('pve-clusterfw', { path: fw }), { ...h, writablePaths: { 'pve-clusterfw': [fw] } })).path).toBe(fw);
  });

  it('pve-clusterfw: lockDir and corosyncPath are the host\'s, not the ledger\'s', async () => {
    const h = host();
    await expect(bindTargetToHost(doc('pve-clusterfw', { lockDir: '/etc' }), h)).rejects.toMatchObject({ code: 'E_TARGET_MIGRATE', message: expect.stringMatching(/option lockDir is chosen by the host/) });
    await expect(bindTargetToHost(doc('pve-clusterfw', { corosyncPath: '/etc/shadow' }), h)).rejects.toMatchObject({ code: 'E_TARGET_MIGRATE' });
  });
});

describe('pve-api endpoints and tokens come from pveCredentials', () => {
  const cred = { url: 'https://pve1.example.test:8006', tokenId: 'sync@pve!fail2git', tokenSecretFile: '/etc/fail2git/pve-token', fingerprint: 'AB'.repeat(32) };

  it('a ledger url/token/pin is refused with how to migrate', async () => {
    const h = host({ pveCredentials: { default: cred } });
    await expect(bindTargetToHost(doc('pve-api', { url: 'https://attacker.example:8006', fingerprint: 'CD'.repeat(32) }), h)).rejects.toMatchObject({
      code: 'E_TARGET_MIGRATE',
      message: expect.stringMatching(/^target "evil" \(pve-api\): option url, fingerprint is no longer read from the ledger; declare it .* under pveCredentials\.NAME .* "credential: NAME"/),
    });
    await expect(bindTargetToHost(doc('pve-api', { tokenSecretFile: '/root/.git-credentials' }), h)).rejects.toMatchObject({ code: 'E_TARGET_MIGRATE' });
  });

  it('an undeclared credential name is refused, naming pveCredentials', async () => {
    const h = host({ pveCredentials: { dc: cred } });
    await expect(bindTargetToHost(doc('pve-api', { credential: 'other' }), h)).rejects.toThrow(/option credential "other" names no entry of pveCredentials .*\(declared: dc\); add pveCredentials\.other/);
    await expect(bindTargetToHost(doc('pve-api', { credential: '__proto__' }), h)).rejects.toMatchObject({ code: 'E_TARGET_NOT_ALLOWED' });
  });

  it('a declared name binds url, token and pin together', async () => {
    const h = host({ pveCredentials: { dc: cred } });
    expect(await bindTargetToHost(doc('pve-api', { credential: 'dc', ipset: 'fail2ban' }), h)).toEqual({
      ipset: 'fail2ban', url: cred.url, tokenId: cred.tokenId, tokenSecretFile: cred.tokenSecretFile, fingerprint: cred.fingerprint,
    });
  });
});

describe('reconcile: a target outside what the host allows fails alone', () => {
  it('writes nothing for the refused target, still runs the others, and says why in one line', async () => {
    const root = tmpDir('f2g-sinks-run');
    const stateDir = join(root, 'state');
    const victim = join(root, 'victim.txt');
    writeFileSync(victim, 'root:x:0:0:root:/root:/bin/bash\n');
    const remote = makeLedgerRemote(ledgerFiles({
      bans: [{ cidr: '198.51.100.7' }],
      targets: [{ name: 'good', options: {} }, { name: 'evil', options: { path: victim } }],
    }));
    const cfg: ReconcileConfig = { remote: remote.bare, branch: 'main', host: 'web1', stateDir, metricsFile: join(stateDir, 'fail2git.prom'), path: join(root, 'config.yaml') };
    const log = createMemoryLogger();
    const r = await reconcile(cfg, {}, { run: execRunner, log, now: () => new Date(), createTarget });
    expect(readFileSync(victim, 'utf8')).toBe('root:x:0:0:root:/root:/bin/bash\n');
    expect(r.status.targets.evil).toMatchObject({ reason: 'CreateFailed' });
    expect(r.status.targets.evil!.error).toMatch(/^target "evil" \(file\): option path ".*victim\.txt" is not among .*writablePaths\.file/);
    expect(r.status.targets.evil!.error).not.toContain('\n');
    expect(r.status.targets.good).toMatchObject({ reason: 'Applied' });
    expect(readFileSync(join(stateDir, 'lists', 'good.txt'), 'utf8')).toBe('198.51.100.7\n');
  });
});
