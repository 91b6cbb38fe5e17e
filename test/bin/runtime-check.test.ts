/**
 * The Node floor (bin/runtime-check.ts): 18.19, the distributions' own Node. Below it every
 * build of the CLI answers with one line and exit 1 before any command loads.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_NODE, nodeRefusal, nodeTooOld } from '../../bin/runtime-check.js';
import { REPO_ROOT } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

afterAll(cleanupTmp);

describe('nodeTooOld', () => {
  it.each([
    ['18.18.2', true], ['v16.20.2', true], ['12.22.12', true], ['18.19.0', false], ['18.20.4', false],
    ['v20.20.2', false], ['22.0.0-nightly', false], ['18.9.0', true], ['19.0.0', false],
  ])('%s → %s', (v, old) => {
    expect(nodeTooOld(v)).toBe(old);
  });

  it('the floor is what package.json declares', async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${MIN_NODE.replace(/\.0$/, '')}`);
  });

  it('says which Node and where, in one line', () => {
    const line = nodeRefusal('16.20.2', '/usr/bin/node');
    expect(line).toBe('fail2git: needs Node.js 18.19 or newer, but /usr/bin/node is v16.20.2; install your distribution\'s nodejs (Debian 12, Ubuntu 24.04 and Proxmox VE 8 ship 18.19 or newer)');
    expect(nodeRefusal(process.versions.node, process.execPath)).toBeUndefined();
  });
});

describe.each([
  ['dist/bin/fail2git.js'], ['dist/fail2git.mjs'], ['dist/bundle/fail2git.mjs'],
])('%s on an old Node', (entry) => {
  it('refuses with one line and exit 1, for every command', () => {
    // Make this Node report an old version before the entry loads (what Node 16 would say).
    const preload = join(tmpDir('f2g-oldnode'), 'old.cjs');
    writeFileSync(preload, "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '16.20.2' } });\n");
    for (const args of [['--version'], ['hook', 'ban', '--ip', '192.0.2.1'], ['reconcile', '--once']]) {
      const r = spawnSync(process.execPath, ['--require', preload, join(REPO_ROOT, entry), ...args], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^fail2git: needs Node\.js 18\.19 or newer, but .+ is v16\.20\.2; [^\n]+\n$/);
    }
  });
});
