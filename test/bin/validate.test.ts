import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { existsSync, cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, looksLikeStackTrace, CLI } from '../helpers/cli.js';
import { BAD_CASES, writeLedger } from '../helpers/fixtures.js';
import { REPO_ROOT, git } from '../helpers/git.js';
import { tmpDir, cleanupTmp } from '../helpers/tmp.js';

afterAll(() => cleanupTmp());
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('run `npm run build` first');
});

const CLI_SUBSET = [
  'broken YAML (unclosed flow mapping)', 'wrong kind in active.yaml', 'unknown field in an entry', 'bad IPv4 address',
  'IPv6 with host bits', 'duplicate IPv6 spellings', 'ban overlapping the allowlist', 'zero-length prefix /0', 'byte order mark',
  'CRLF line endings', 'tab indentation', 'YAML alias bomb', 'non-UTF-8 bytes', 'a 50 MB single line', 'huge file (> 64 MiB)',
  'target option of another driver', 'flow lists nested 5,000 deep', 'block sequences nested 10,000 deep on one line',
  'a 3 MiB ban list in block layout', 'a bans item that is a list',
];

// What a JS engine says, never what fail2git says (outside the quoted values it echoes).
const ENGINE = /Cannot read propert|is not iterable|is not a function|Maximum call stack|Unexpected token|in JSON at position|\bundefined\b|TypeError|RangeError|SyntaxError/;
const engineText = (text: string): boolean => ENGINE.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '"…"'));

describe('garbage ledgers and configs through the CLI', () => {
  const GARBAGE: Record<string, string | Buffer>[] = [
    { 'bans/active.yaml': 'null\n' }, { 'bans/active.yaml': `bans: ${'['.repeat(3000)}\n` }, { 'bans/allow.yaml': `allow: ${'{a: '.repeat(2000)}\n` },
    { 'bans/targets.yaml': 'apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: [x]}\nspec: 5\n' }, { 'bans/policy.yaml': 'spec: {escalation: [1], maxRemovePerRun: {a: 1}}\n' },
    { 'bans/active.yaml': Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x0a]) }, { 'bans/active.yaml': 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 192.0.2.1, count: 1e400, at: [1]}\n  - [1, 2]\n' },
  ];
  for (const files of GARBAGE) {
    it(`validate, list and fmt --check say what is wrong with ${JSON.stringify(Object.values(files)[0]!.toString('latin1').slice(0, 40))}`, () => {
      const dir = writeLedger(files);
      for (const args of [['validate'], ['list'], ['fmt', '--check']]) {
        const r = runCli([...args, '--ledger', dir]);
        const out = r.stdout + r.stderr;
        expect(r.code, `${args[0]}: ${out}`).toBe(1);
        expect(looksLikeStackTrace(out), `${args[0]}: ${out}`).toBe(false);
        expect(engineText(out), `${args[0]}: ${out}`).toBe(false);
        expect(out, args[0]).toMatch(/bans\/[a-z]+\.yaml:\d+:\d+: /);
      }
    });
  }

  it('a garbage host config is one line naming the file', () => {
    for (const text of ['remote: [1\n', `a: ${'['.repeat(3000)}\n`, 'null\n', '\u0000\u00ff', 'remote: x\nhost: web1\nstateDir: {a: 1}\n']) {
      const path = join(tmpDir('f2g-garbage-config'), 'config.yaml');
      writeFileSync(path, text, { mode: 0o600 });
      const r = runCli(['status', '--config', path]);
      expect(r.code, r.stderr).not.toBe(0);
      expect(looksLikeStackTrace(r.stderr), r.stderr).toBe(false);
      expect(engineText(r.stderr), r.stderr).toBe(false);
      expect(r.stderr, r.stderr).toContain(path);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});

describe('fail2git validate', () => {
  it('the example ledger is valid (exit 0)', () => {
    const r = runCli(['validate', '--ledger', REPO_ROOT]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: \d+ bans, \d+ allowlisted networks, \d+ targets/);
  });

  for (const name of CLI_SUBSET) {
    const c = BAD_CASES.find((b) => b.name === name)!;
    it(`${name}: one file:line:col line, exit 1, no stack trace`, () => {
      const dir = writeLedger(c.files);
      const r = runCli(['validate', '--ledger', dir]);
      expect(r.code).toBe(1);
      expect(looksLikeStackTrace(r.stdout + r.stderr)).toBe(false);
      const line = r.stdout.split('\n').find((l) => l.startsWith(`${c.file}:${c.line}:${c.col}: `));
      expect(line, r.stdout.slice(0, 2000)).toBeDefined();
      expect(line!.replace(/^[^:]+:\d+:\d+: /, '').replace(/ \(warning\)$/, '')).toMatch(c.message);
      if (c.warning) expect(line).toMatch(/\(warning\)$/);
    });
  }

  it('--json lists problems with positions and codes', () => {
    const c = BAD_CASES.find((b) => b.name === 'bad IPv4 address')!;
    const r = runCli(['validate', '--json', '--ledger', writeLedger(c.files)]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { ok: boolean; problems: { file: string; line: number; col: number; code: string; text: string }[] };
    expect(doc.ok).toBe(false);
    expect(doc.problems[0]).toMatchObject({ file: 'bans/active.yaml', line: 6, col: 12, code: 'E_CIDR_SYNTAX', text: 'bans/active.yaml:6:12: "203.0.113.300" is not an IP address or CIDR' });
  });

  it('--rev validates a commit, not the working tree', () => {
    const repo = tmpDir('cli-rev');
    git(repo, 'init', '-q', '-b', 'main');
    cpSync(join(REPO_ROOT, 'bans'), join(repo, 'bans'), { recursive: true });
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'good');
    const good = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(join(repo, 'bans/active.yaml'), 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 203.0.113.300}\n');
    git(repo, 'commit', '-q', '-am', 'bad');
    expect(runCli(['validate', '--ledger', repo, '--rev', 'HEAD']).stdout).toContain('bans/active.yaml:4:12: "203.0.113.300" is not an IP address or CIDR');
    const ok = runCli(['validate', '--ledger', repo, '--rev', 'HEAD~1']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`at ${good.slice(0, 12)}`);
    const unknown = runCli(['validate', '--ledger', repo, '--rev', 'nosuchbranch']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe(`fail2git: ${repo}: unknown revision "nosuchbranch" (no such commit)`);
  });

  it('usage errors exit 2; --help exits 0', () => {
    expect(runCli(['validate', '--bogus']).code).toBe(2);
    const help = runCli(['validate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: fail2git validate');
  });

  it('a directory that is not a ledger is one clear line', () => {
    const r = runCli(['validate', '--ledger', tmpDir('empty')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^fail2git: .*: no bans\/ directory here; not a fail2git ledger\n$/);
  });
});

describe('fail2git validate: a symlinked ledger file', () => {
  it('is refused without printing the target', async () => {
    const { symlinkSync, writeFileSync: write } = await import('node:fs');
    const dir = writeLedger({});
    const secret = join(dir, 'secret.txt');
    write(secret, 'root:SECRETHASH:19000:0:99999:7:::\n');
    symlinkSync(secret, join(dir, 'bans/active.yaml'));
    const r = runCli(['validate', '--ledger', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain('SECRETHASH');
    expect(r.stderr).toContain('is a symbolic link; ledger files must be regular files');
    expect(runCli(['fmt', '--ledger', dir]).stderr).toContain('is a symbolic link');
  });
});
