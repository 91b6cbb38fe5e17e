import { describe, it, expect, afterAll } from 'vitest';

import { join } from 'node:path';
import { git, makeLedgerRemote } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { parseLog, LOG_FORMAT } from '../../controller/audit/log.js';
import { cli, CLI } from '../helpers/cli.js';

afterAll(() => cleanupTmp());

/** 500 entries expired yesterday (10.0.x.y) and 500 live until next year (10.1.x.y), canonical layout. */
function bigLedger(): { text: string; expired: string[]; live: string[] } {
  const expired: string[] = [];
  const live: string[] = [];
  const lines: string[] = [];
  for (const [net, list, expires] of [[0, expired, '2020-01-01T00:00:00Z'], [1, live, '2099-01-01T00:00:00Z']] as const) {
    for (let i = 0; i < 500; i++) {
      const cidr = `10.${net}.${Math.floor(i / 250)}.${i % 250}`;
      list.push(cidr);
      lines.push(`  - {cidr: ${cidr}, expires: ${expires}, at: 2019-12-31T00:00:00Z, by: web1, jail: sshd, count: 1}`);
    }
  }
  return { text: `apiVersion: fail2git/v1\nkind: BanList\nbans:\n${lines.join('\n')}\n`, expired, live };
}

describe('fail2git gc', () => {
  it('three hosts at once remove exactly the 500 expired entries, once each, and leave the live ones', async () => {
    const { text, expired, live } = bigLedger();
    const remote = makeLedgerRemote({ 'bans/active.yaml': text });
    const before = remote.head();
    const root = tmpDir('f2g-gc');
    const runs = await Promise.all(['h1', 'h2', 'h3'].map((h) =>
      cli(['gc', '--remote', remote.bare, '--host', h, '--state-dir', join(root, h)])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);

    const after = git(remote.bare, 'show', 'main:bans/active.yaml');
    for (const cidr of expired) expect(after).not.toContain(`cidr: ${cidr},`);
    for (const cidr of live) expect(after).toContain(`cidr: ${cidr},`);
    expect(after.split('\n').filter((l) => l.startsWith('  - '))).toHaveLength(500);
    expect(after).not.toMatch(/<<<<<<<|>>>>>>>/);

    const commits = parseLog(git(remote.bare, 'log', `--format=${LOG_FORMAT}`, `${before}..main`));
    expect(commits.length).toBeGreaterThanOrEqual(1);
    expect(commits.every((c) => c.parents.length === 1)).toBe(true); // no merges: nothing was text-merged
    const collected = commits.flatMap((c) => c.ops.filter((o) => o.op === 'expire').map((o) => o.fields.cidr));
    expect(collected.sort()).toEqual([...expired].sort()); // each once: no duplicates
    expect(commits.map((c) => c.subject)).toEqual(expect.arrayContaining([expect.stringMatching(/^gc: expire \d+ bans?$/)]));
    const said = runs.map((r) => r.stdout);
    expect(said.filter((s) => s.startsWith('gc: expired 500 bans')).length + said.filter((s) => s.startsWith('gc: nothing')).length).toBe(3);
  });

  it('--dry-run lists what would go and commits nothing; a second gc finds nothing', async () => {
    const remote = makeLedgerRemote({
      'bans/active.yaml': 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 192.0.2.7, expires: 2020-01-01T00:00:00Z}\n  - {cidr: 192.0.2.8}\n',
      'bans/policy.yaml': 'apiVersion: fail2git/v1\nkind: Policy\nspec:\n  gcGrace: 2h\n',
    });
    const state = tmpDir('f2g-gc');
    const head = remote.head();
    const dry = await cli(['gc', '--dry-run', '--remote', remote.bare, '--host', 'h1', '--state-dir', state]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('- 192.0.2.7 (expired 2020-01-01T00:00:00Z)');
    expect(dry.stdout).toContain('would expire 1 ban at');
    expect(dry.stdout).toContain('grace 2h');
    expect(remote.head()).toBe(head);
    const real = await cli(['gc', '--json', '--remote', remote.bare, '--host', 'h1', '--state-dir', state]);
    expect(JSON.parse(real.stdout)).toMatchObject({ expired: [{ cidr: '192.0.2.7' }], dryRun: false });
    expect(git(remote.bare, 'show', 'main:bans/active.yaml')).toBe('apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 192.0.2.8}');
    expect(git(remote.bare, 'log', '-1', '--format=%an <%ae>%n%s', 'main')).toBe('h1 <fail2git@h1>\ngc: expire 1 ban');
    const again = await cli(['gc', '--remote', remote.bare, '--host', 'h1', '--state-dir', state]);
    expect(again.stdout).toMatch(/^gc: nothing to collect/);
  });

  it('fails with one line and exit 1 when the remote is unreachable; bad --grace is a usage error', async () => {
    const state = tmpDir('f2g-gc');
    const r = await cli(['gc', '--remote', join(state, 'nowhere.git'), '--host', 'h1', '--state-dir', state]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^fail2git: gc: cannot fetch main from/);
    const u = await cli(['gc', '--grace', 'soon', '--remote', 'x']);
    expect(u.code).toBe(2);
  });
});
