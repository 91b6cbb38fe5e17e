import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync, readFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { parseLedgerFiles, loadLedgerFromDir, loadLedgerFromGit } from '../../../controller/ledger/load.js';
import { DEFAULT_POLICY, formatProblem } from '../../../controller/ledger/types.js';
import { BAD_CASES, bans } from '../../helpers/fixtures.js';
import { tmpDir, cleanupTmp } from '../../helpers/tmp.js';
import { git } from '../../helpers/git.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

afterAll(() => cleanupTmp());

describe('parseLedgerFiles: malformed ledgers', () => {
  it('covers at least 30 cases', () => {
    expect(BAD_CASES.length).toBeGreaterThanOrEqual(30);
  });

  for (const c of BAD_CASES) {
    it(`${c.name} → ${c.file}:${c.line}:${c.col} ${c.code}`, () => {
      const result = parseLedgerFiles(c.files, { dir: '/l' });
      const findings = c.warning ? (result.warnings ?? []) : result.problems;
      if (c.warning) expect(result.problems).toEqual([]);
      const hit = findings.find((p) => p.code === c.code);
      expect(hit, JSON.stringify(findings.map(formatProblem))).toBeDefined();
      expect({ file: hit!.file, line: hit!.line, col: hit!.col }).toEqual({ file: c.file, line: c.line, col: c.col });
      expect(hit!.message).toMatch(c.message);
      // one line, no stack, and the formatted form is file:line:col: message
      expect(formatProblem(hit!)).not.toContain('\n');
      expect(formatProblem(hit!)).toMatch(/^bans\/[a-z]+\.yaml:\d+:\d+: \S/);
    });
  }
});

describe('parseLedgerFiles: valid input', () => {
  it('missing files mean an empty ledger with the default policy', () => {
    const r = parseLedgerFiles({}, { dir: '/l' });
    expect(r.problems).toEqual([]);
    expect(r.ledger).toEqual({ bans: [], allow: [], policy: DEFAULT_POLICY, targets: [], source: { dir: '/l' } });
  });

  it('canonicalises addresses and times, fills policy defaults', () => {
    const r = parseLedgerFiles({
      'bans/active.yaml': bans('{cidr: "::ffff:198.51.100.7", expires: "2026-11-22T10:00:00+01:00", at: 2026-11-22T08:00:00.250Z}', '{cidr: "2001:DB8:0::/48"}'),
      'bans/policy.yaml': 'apiVersion: fail2git/v1\nkind: Policy\nspec: {defaultTtl: 2h}\n',
    }, { dir: '/l', rev: 'abc' });
    expect(r.problems).toEqual([]);
    expect(r.ledger.bans).toEqual([
      { cidr: '198.51.100.7', expires: '2026-11-22T09:00:00Z', at: '2026-11-22T08:00:00Z' },
      { cidr: '2001:db8::/48' },
    ]);
    expect(r.ledger.policy).toEqual({ ...DEFAULT_POLICY, defaultTtl: '2h' });
    expect(r.ledger.source).toEqual({ dir: '/l', rev: 'abc' });
  });

  it('the example ledger in bans/ is valid, with no warnings', async () => {
    const r = await loadLedgerFromDir(ROOT);
    expect(r.problems.map(formatProblem)).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.ledger.bans.length).toBeGreaterThan(3);
    expect(r.ledger.targets.map((t) => t.metadata.name).length).toBeGreaterThan(0);
  });
});

describe('loadLedgerFromDir / loadLedgerFromGit', () => {
  it('refuses a directory without bans/', async () => {
    await expect(loadLedgerFromDir(tmpDir('noledger'))).rejects.toMatchObject({ code: 'E_LEDGER_MISSING' });
  });

  it('reads a commit, not the working tree, and reports the full commit id', async () => {
    const repo = tmpDir('ledger-git');
    git(repo, 'init', '-q', '-b', 'main');
    cpSync(join(ROOT, 'bans'), join(repo, 'bans'), { recursive: true });
    git(repo, 'add', '.');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.org', 'commit', '-q', '-m', 'seed');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    // The working tree changes afterwards; the commit is what counts.
    writeFileSync(join(repo, 'bans/active.yaml'), 'not: [valid\n');
    const r = await loadLedgerFromGit(repo, 'HEAD');
    expect(r.problems).toEqual([]);
    expect(r.ledger.source).toEqual({ dir: repo, rev: head });
    const fromDir = await loadLedgerFromDir(ROOT);
    expect(r.ledger.bans).toEqual(fromDir.ledger.bans);
    expect((await loadLedgerFromDir(repo)).problems[0]?.code).toBe('E_YAML');
  });

  it('a file missing at the commit is a missing file; non-UTF-8 bytes are reported with a position', async () => {
    const repo = tmpDir('ledger-git2');
    git(repo, 'init', '-q', '-b', 'main');
    mkdirSync(join(repo, 'bans'));
    writeFileSync(join(repo, 'bans/active.yaml'), Buffer.concat([Buffer.from(bans('{cidr: 192.0.2.1, reason: "x').trimEnd()), Buffer.from([0xff, 0x22, 0x7d, 0x0a])]));
    git(repo, 'add', '.');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.org', 'commit', '-q', '-m', 'bad bytes');
    const r = await loadLedgerFromGit(repo, 'main');
    expect(r.problems.map(formatProblem)).toEqual(['bans/active.yaml:5:33: invalid UTF-8 (byte 0xff); ledger files must be UTF-8']);
    expect(r.ledger.policy).toEqual(DEFAULT_POLICY);
  });

  it('an unknown revision is a clear error', async () => {
    const repo = tmpDir('ledger-git3');
    git(repo, 'init', '-q', '-b', 'main');
    await expect(loadLedgerFromGit(repo, 'deadbeef')).rejects.toThrow(/unknown revision "deadbeef"/);
    await expect(loadLedgerFromGit(repo, '--output=/tmp/x')).rejects.toMatchObject({ code: 'E_REV_UNKNOWN' });
  });

  it('keeps the bytes of the commit exactly (multi-byte UTF-8 sizes)', async () => {
    const repo = tmpDir('ledger-git4');
    git(repo, 'init', '-q', '-b', 'main');
    mkdirSync(join(repo, 'bans'));
    writeFileSync(join(repo, 'bans/active.yaml'), bans('{cidr: 192.0.2.1, reason: "café ☕ 日本"}'));
    writeFileSync(join(repo, 'bans/allow.yaml'), 'apiVersion: fail2git/v1\nkind: AllowList\nallow: [{cidr: 198.51.100.0/24, reason: "bür"}]\n');
    git(repo, 'add', '.');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.org', 'commit', '-q', '-m', 'utf8');
    const r = await loadLedgerFromGit(repo, 'HEAD');
    expect(r.problems).toEqual([]);
    expect(r.ledger.bans[0]!.reason).toBe('café ☕ 日本');
    expect(r.ledger.allow[0]!.reason).toBe('bür');
    expect(readFileSync(join(repo, 'bans/active.yaml'), 'utf8')).toContain('café');
  });
});

describe('loadLedgerFromGit: only regular files are ledger files', () => {
  const YAML = bans('{cidr: 198.51.100.7, at: 2026-11-22T08:00:00Z}');
  /** A commit whose tree has `path` with `mode` pointing at an object made from `content` (or `oid`). */
  function commitWith(name: string, path: string, mode: string, content: string | { oid: string }): string {
    const repo = tmpDir(name);
    git(repo, 'init', '-q', '-b', 'main');
    if (typeof content === 'string') writeFileSync(join(repo, '.blob'), content);
    const oid = typeof content === 'string' ? git(repo, 'hash-object', '-w', '.blob') : content.oid;
    git(repo, 'update-index', '--add', '--cacheinfo', `${mode},${oid},${path}`);
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.org', 'commit', '-q', '-m', name);
    return repo;
  }

  it('a symlink whose target text is YAML is refused, not enforced', async () => {
    const r = await loadLedgerFromGit(commitWith('ledger-symlink', 'bans/active.yaml', '120000', YAML), 'HEAD');
    expect(r.problems.map(formatProblem)).toEqual([expect.stringMatching(/^bans\/active\.yaml:1:1: is a symbolic link at [0-9a-f]{12}; ledger files must be regular files$/)]);
    expect(r.problems[0]!.code).toBe('E_NOT_REGULAR_FILE');
  });

  it('a submodule where a ledger file belongs is refused, not read as "no bans"', async () => {
    const r = await loadLedgerFromGit(commitWith('ledger-gitlink', 'bans/allow.yaml', '160000', { oid: '1'.repeat(40) }), 'HEAD');
    expect(r.problems.map(formatProblem)).toEqual([expect.stringMatching(/^bans\/allow\.yaml:1:1: is a submodule at /)]);
  });

  it('reads a full commit id (what the reconciler passes) exactly as its branch name, refusals included', async () => {
    for (const repo of [commitWith('ledger-full-symlink', 'bans/active.yaml', '120000', YAML), commitWith('ledger-full-bans-link', 'bans', '120000', 'elsewhere'), commitWith('ledger-full-ok', 'bans/active.yaml', '100644', YAML)]) {
      const id = git(repo, 'rev-parse', 'HEAD');
      expect(await loadLedgerFromGit(repo, id)).toEqual(await loadLedgerFromGit(repo, 'main'));
    }
  });

  it('a full id of a tree, a blob or no object is an unknown revision, not a listing', async () => {
    const repo = commitWith('ledger-full-tree', 'bans/active.yaml', '100644', YAML);
    for (const id of [git(repo, 'rev-parse', 'HEAD^{tree}'), git(repo, 'rev-parse', 'HEAD:bans/active.yaml'), 'e'.repeat(40)]) {
      await expect(loadLedgerFromGit(repo, id)).rejects.toMatchObject({ code: 'E_REV_UNKNOWN' });
    }
  });

  it('bans/ itself as a symlink is refused', async () => {
    const r = await loadLedgerFromGit(commitWith('ledger-bans-link', 'bans', '120000', 'elsewhere'), 'HEAD');
    expect(r.problems.map(formatProblem)).toEqual([expect.stringMatching(/^bans:1:1: is a symbolic link at [0-9a-f]{12}; bans\/ must be a directory$/)]);
  });

  it("the ledger's .gitattributes changes nothing read (no eol, filter or encoding conversion)", async () => {
    const repo = tmpDir('ledger-attrs');
    git(repo, 'init', '-q', '-b', 'main');
    mkdirSync(join(repo, 'bans'));
    writeFileSync(join(repo, 'bans/active.yaml'), YAML);
    git(repo, 'add', '.');
    writeFileSync(join(repo, '.gitattributes'), 'bans/* text eol=crlf working-tree-encoding=UTF-16 ident\n');
    git(repo, 'add', '.gitattributes');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.org', 'commit', '-q', '-m', 'attrs');
    const r = await loadLedgerFromGit(repo, 'HEAD');
    expect(r.problems).toEqual([]);
    expect(r.ledger.bans.map((b) => b.cidr)).toEqual(['198.51.100.7']);
  });
});

describe('loadLedgerFromGit outside a repository', () => {
  it('says it is not a git repository', async () => {
    await expect(loadLedgerFromGit(tmpDir('notgit'), 'HEAD')).rejects.toMatchObject({ code: 'E_NOT_GIT' });
  });
});

describe('parseLedgerFiles: many problems', () => {
  it('reports 200,000 bad entries of a canonical file one by one (no call-stack overflow collecting them)', () => {
    const lines = Array.from({ length: 200_000 }, (_, i) => `  - {cidr: 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}, jial: sshd}\n`);
    const result = parseLedgerFiles({ 'bans/active.yaml': `# x\napiVersion: fail2git/v1\nkind: BanList\nbans:\n${lines.join('')}` }, { dir: '/l' });
    expect(result.problems.length).toBe(200_000);
    expect(formatProblem(result.problems[0]!)).toBe('bans/active.yaml:5:22: unknown field "jial" (allowed: cidr, expires, at, by, jail, reason, count)');
  }, 60_000);
});
