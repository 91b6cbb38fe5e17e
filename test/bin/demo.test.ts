/**
 * `npm run demo`, the README's first quick-start command, from a fresh clone: it exits 0
 * and its final table shows every target enforcing. As root the kernel part runs (ipset
 * and nftables in a throwaway namespace); as an unprivileged user it must skip that part
 * and say so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { git, REPO_ROOT } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

let clone = '';

beforeAll(() => {
  const dir = tmpDir('f2g-democlone');
  chmodSync(dir, 0o755); // the unprivileged run must read the clone
  clone = join(dir, 'fail2git');
  git(dir, 'clone', '-q', REPO_ROOT, clone);
  // The committed tree, built as `npm ci` would (its prepare script), with a copy of this
  // checkout's node_modules standing in for the download. A copy, not a symlink: the
  // unprivileged run must not have to reach into this checkout, whose parent directory may
  // be mode 0700 (wherever CI clones the project).
  cpSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  const build = spawnSync('npm', ['run', 'build'], { cwd: clone, encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
}, 180_000);

afterAll(cleanupTmp);

function demo(asUser?: string) {
  const cmd = asUser ? ['setpriv', `--reuid=${asUser}`, `--regid=${asUser === 'nobody' ? 'nogroup' : asUser}`, '--clear-groups', 'npm', 'run', 'demo'] : ['npm', 'run', 'demo'];
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    cwd: clone,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, HOME: asUser ? '/tmp' : process.env.HOME, npm_config_cache: asUser ? join('/tmp', `npm-cache-${process.pid}`) : process.env.npm_config_cache },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Rows of the final "Summary" table as [host, target, driver, entries, state]. */
function summary(out: string): string[][] {
  const lines = out.split('\n');
  const start = lines.indexOf('Summary');
  expect(start, out).toBeGreaterThan(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('  ')) break;
    rows.push(line.trim().split(/\s{2,}/));
  }
  return rows;
}

const isRoot = process.getuid?.() === 0;

describe('npm run demo (fresh clone)', () => {
  it.runIf(isRoot || process.env.CI === 'true')('as root: every step runs, the kernel targets included, and nothing is left behind', () => {
    expect(isRoot, 'CI runs as root: the kernel part of the demo must run').toBe(true);
    const r = demo();
    expect(r.code, r.out + r.err).toBe(0);
    const rows = summary(r.out);
    expect(rows.map((x) => `${x[0]} ${x[1]} ${x[2]} ${x[4]}`)).toEqual([
      'pve1 url-table file Applied',
      'pve1 datacenter pve-clusterfw Applied',
      'gw1 kernel-ipset ipset Applied',
      'gw1 kernel-nft nftables Applied',
    ]);
    // the same entries everywhere: the example ledger, two hook bans, one unban, one expiry
    expect(new Set(rows.map((x) => x[3])).size).toBe(1);
    expect(r.out).toContain('asks ignorecommand about 192.0.2.5 → allowlisted (exit 0)');
    expect(r.out).toMatch(/bans 192\.0\.2\.5 → refused: refusing to ban 192\.0\.2\.5 network-wide: 192\.0\.2\.5 is allowlisted/);
    expect(r.out).toContain('left the list');
    expect(r.out).toMatch(/banned\s+198\.51\.100\.41\s+by web1/);
    const removed = /Removed (\S+) and network namespace (\S+)\./.exec(r.out);
    expect(removed, r.out).not.toBeNull();
    expect(existsSync(removed![1]!)).toBe(false);
    const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(ns).not.toContain(removed![2]!);
  }, 150_000);

  it.runIf(isRoot)('as an unprivileged user: skips the kernel part and says so, the rest runs', () => {
    const r = demo('nobody');
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain('skipped: not root');
    const rows = summary(r.out);
    expect(rows.map((x) => `${x[0]} ${x[1]} ${x[4]}`)).toEqual(['pve1 url-table Applied', 'pve1 datacenter Applied']);
  }, 150_000);
});
