/**
 * The shipped bundle (dist/bundle/, what the .deb and the tarball carry) on Debian 12's own
 * Node.js 18: the hook and its flusher against a real remote, reconcile onto real ipset and
 * nftables in a network namespace, pve-api against the HTTPS emulator, and the demo.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { git, makeLedgerRemote, REPO_ROOT } from '../helpers/git.js';
import { cleanupTmp, tmpDir, uniqueName } from '../helpers/tmp.js';
import { createNetns, destroyAllNetns, kernelSkipReason } from '../helpers/netns.js';
import { DEBIAN_NODE, debianNodeSkipReason } from '../helpers/debian-node.js';
import { PveEmulator, parseClusterFw } from '../helpers/pve-emulator.js';
import { ledgerFiles } from '../helpers/fixtures.js';

const run = promisify(execFile);
const BUNDLE = join(REPO_ROOT, 'dist', 'bundle', 'fail2git.mjs');
const skip = debianNodeSkipReason();

afterAll(async () => {
  cleanupTmp();
  await destroyAllNetns();
});

interface Ran { code: number; stdout: string; stderr: string }

/** The bundle on Debian's Node, optionally inside a network namespace. */
async function node18(args: string[], opts: { netns?: string; cwd?: string } = {}): Promise<Ran> {
  const [file, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, DEBIAN_NODE, BUNDLE, ...args]] : [DEBIAN_NODE, [BUNDLE, ...args]];
  try {
    const r = await run(file, argv, { encoding: 'utf8', cwd: opts.cwd, timeout: 120_000, env: { PATH: process.env.PATH, HOME: opts.cwd ?? tmpDir('f2g-n18-home'), FAIL2GIT_CONFIG: '/nonexistent/config.yaml' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

describe.skipIf(skip !== undefined)(`the bundle on Debian's Node 18${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('is Node 18 and runs --version', async () => {
    const v = await run(DEBIAN_NODE, ['--version'], { encoding: 'utf8' });
    expect(v.stdout).toMatch(/^v18\.(19|[2-9]\d)\./);
    const r = await node18(['--version']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^fail2git \d+\.\d+\.\d+\n$/);
  });

  it('hook ban and flush deliver to a real remote', async () => {
    const host = tmpDir('f2g-n18');
    const remote = makeLedgerRemote();
    const cfg = join(host, 'config.yaml');
    writeFileSync(cfg, `remote: ${remote.bare}\nhost: web1\nstateDir: ${join(host, 'state')}\n`);
    const now = String(Math.floor(Date.now() / 1000));
    const hook = await node18(['hook', 'ban', '--jail', 'sshd', '--ip', '198.51.100.201', '--bantime', '3600', '--time', now, '--config', cfg], { cwd: host });
    expect(hook).toMatchObject({ code: 0, stderr: '' });
    const flush = await node18(['flush', '--config', cfg], { cwd: host });
    expect(flush.code, flush.stderr).toBe(0);
    expect(git(remote.bare, 'log', '-1', '--format=%an: %s', 'main')).toBe('web1: ban 198.51.100.201 (sshd@web1, 1h)');
  });

  describe.skipIf(kernelSkipReason() !== undefined)('kernel targets in a network namespace', () => {
    it('reconcile --once fills an ipset set and an nftables set', async () => {
      const ns = await createNetns('f2gn18');
      const set = uniqueName('f2gn');
      const table = uniqueName('f2gt').replace(/-/g, '_');
      const remote = makeLedgerRemote(ledgerFiles({
        bans: [{ cidr: '192.0.2.7' }, { cidr: '203.0.113.0/24' }, { cidr: '2001:db8::/48' }],
        targets: [
          { name: 'kernel-ipset', driver: 'ipset', options: { setName: set, enforce: 'none' } },
          { name: 'kernel-nft', driver: 'nftables', options: { table, enforce: 'none' } },
        ],
      }));
      const dir = tmpDir('f2g-n18k');
      const r = await node18(['reconcile', '--once', '--remote', remote.bare, '--host', 'gw1', '--state-dir', join(dir, 'state')], { netns: ns.name, cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/: Applied: /);
      const ipset = await run('ip', ['netns', 'exec', ns.name, 'ipset', 'list', `${set}-v4`], { encoding: 'utf8' });
      expect(ipset.stdout).toContain('192.0.2.7');
      expect(ipset.stdout).toContain('203.0.113.0/24');
      const nft = await run('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'table', 'inet', table], { encoding: 'utf8' });
      expect(nft.stdout).toContain('192.0.2.7');
      expect(nft.stdout).toContain('2001:db8::/48');
    });
  });

  it('reconcile --once onto a Proxmox IPSet through the API (emulator, pinned certificate)', async () => {
    const secret = '3f1c2a9e-0000-4000-8000-5ec7e75ec7e7';
    const emu = await PveEmulator.start({ tokens: { 'fail2git@pve!gw': { secret, privs: ['Sys.Audit', 'Sys.Modify'] } }, authFailDelayMs: 1 });
    try {
      const dir = tmpDir('f2g-n18p');
      const secretFile = join(dir, 'token');
      writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
      const remote = makeLedgerRemote(ledgerFiles({
        bans: [{ cidr: '192.0.2.7' }, { cidr: '198.51.100.0/24' }],
        targets: [{ name: 'pve', driver: 'pve-api', options: { credential: 'dc', ipset: 'fail2git' } }],
      }));
      const cfg = join(dir, 'config.yaml');
      writeFileSync(cfg, [
        `remote: ${remote.bare}`, 'host: pve1', `stateDir: ${join(dir, 'state')}`,
        'pveCredentials:', '  dc:', `    url: ${emu.url}`, '    tokenId: fail2git@pve!gw', `    tokenSecretFile: ${secretFile}`, `    fingerprint: ${emu.fingerprint256}`, '',
      ].join('\n'), { mode: 0o600 });
      const r = await node18(['reconcile', '--once', '--config', cfg], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const entries = parseClusterFw(emu.clusterFw).ipsets.get('fail2git')?.entries.map((e) => e.cidr).sort();
      expect(entries).toEqual(['192.0.2.7', '198.51.100.0/24']);
      expect(r.stdout + r.stderr).not.toContain(secret);
    } finally {
      await emu.close();
    }
  });

  it('runs the demo', async () => {
    const dir = tmpDir('f2g-n18d');
    mkdirSync(dir, { recursive: true });
    const r = await node18(['demo'], { cwd: dir });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/audit/i);
  }, 180_000);
});
