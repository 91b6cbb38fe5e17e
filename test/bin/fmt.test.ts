import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { writeLedger } from '../helpers/fixtures.js';
import { REPO_ROOT } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

afterAll(() => cleanupTmp());

const MESSY = `# Bans, hand-edited.
# Second header line.
apiVersion: fail2git/v1
kind: BanList
bans:
- cidr: "2001:DB8::1"
  by: bob
  at: 2026-11-22T10:00:00+01:00
# a comment between entries
-   {cidr: '198.51.100.7', jail: sshd, count: 2, expires: 2026-12-01T00:00:00Z}   # trailing
- {reason: 'botnet, C2', cidr: 203.0.113.0/24}
`;

const CANONICAL = `# Bans, hand-edited.
# Second header line.
apiVersion: fail2git/v1
kind: BanList
bans:
  - {cidr: 198.51.100.7, expires: 2026-12-01T00:00:00Z, jail: sshd, count: 2}
  - {cidr: 203.0.113.0/24, reason: "botnet, C2"}
  - {cidr: "2001:db8::1", at: 2026-11-22T09:00:00Z, by: bob}
`;

describe('fail2git fmt', () => {
  it('rewrites active.yaml into the canonical layout, keeping the header', () => {
    const dir = writeLedger({ 'bans/active.yaml': MESSY });
    const check = runCli(['fmt', '--check', '--ledger', dir]);
    expect(check.code).toBe(1);
    expect(check.stdout).toBe('bans/active.yaml: not in canonical layout (run fail2git fmt)\n');
    expect(readFileSync(join(dir, 'bans/active.yaml'), 'utf8')).toBe(MESSY); // --check changes nothing
    const r = runCli(['fmt', '--ledger', dir]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'bans/active.yaml'), 'utf8')).toBe(CANONICAL);
    expect(runCli(['fmt', '--check', '--ledger', dir]).code).toBe(0);
    expect(readdirSync(join(dir, 'bans')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('repairs a BOM and CRLF line endings in every file', () => {
    const dir = writeLedger({
      'bans/active.yaml': '\uFEFF' + CANONICAL.replace(/\n/g, '\r\n'),
      'bans/policy.yaml': 'apiVersion: fail2git/v1\r\nkind: Policy\r\nspec: {defaultTtl: 2h}  # comment kept\r\n',
    });
    expect(runCli(['validate', '--ledger', dir]).code).toBe(1);
    const r = runCli(['fmt', '--ledger', dir]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'bans/active.yaml'), 'utf8')).toBe(CANONICAL);
    expect(readFileSync(join(dir, 'bans/policy.yaml'), 'utf8')).toBe('apiVersion: fail2git/v1\nkind: Policy\nspec: {defaultTtl: 2h}  # comment kept\n');
    expect(runCli(['validate', '--ledger', dir]).code).toBe(0);
  });

  it('never rewrites a file with problems', () => {
    const bad = 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n- {cidr: 198.51.100.7}\n- {cidr: 10.0.0.1/8}\n';
    const dir = writeLedger({ 'bans/active.yaml': bad });
    const r = runCli(['fmt', '--ledger', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bans/active.yaml:5:10: "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)');
    expect(r.stderr).toContain('bans/active.yaml: has problems; not rewritten');
    expect(readFileSync(join(dir, 'bans/active.yaml'), 'utf8')).toBe(bad);
  });

  it('sorts allow.yaml too, unless it has comments between entries', () => {
    const allow = 'apiVersion: fail2git/v1\nkind: AllowList\nallow:\n- {cidr: "2001:db8:1::/64"}\n- {cidr: 192.0.2.0/28, reason: mgmt}\n';
    const dir = writeLedger({ 'bans/allow.yaml': allow });
    expect(runCli(['fmt', '--ledger', dir]).code).toBe(0);
    expect(readFileSync(join(dir, 'bans/allow.yaml'), 'utf8')).toBe('apiVersion: fail2git/v1\nkind: AllowList\nallow:\n  - {cidr: 192.0.2.0/28, reason: mgmt}\n  - {cidr: "2001:db8:1::/64"}\n');
    const commented = allow.replace('- {cidr: 192', '# office\n- {cidr: 192');
    const dir2 = writeLedger({ 'bans/allow.yaml': commented });
    const r = runCli(['fmt', '--ledger', dir2]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('bans/allow.yaml: has comments between entries; layout left as written');
    expect(readFileSync(join(dir2, 'bans/allow.yaml'), 'utf8')).toBe(commented);
  });

  it('rewrites a block-layout active.yaml larger than the 2 MiB other layouts may have, which validate refuses with a pointer to fmt', () => {
    const n = 30_000;
    const block = Array.from({ length: n }, (_, i) => `- cidr: 10.0.${i >> 8}.${i & 255}\n  by: web1\n  jail: sshd\n  reason: hand-written block layout, not the canonical one\n`).join('');
    const dir = writeLedger({ 'bans/active.yaml': `apiVersion: fail2git/v1\nkind: BanList\nbans:\n${block}` });
    const v = runCli(['validate', '--ledger', dir]);
    expect(v.code).toBe(1);
    expect(v.stdout + v.stderr).toMatch(/^bans\/active\.yaml:4:1: file is \d\.\d MiB and leaves the canonical layout here; other layouts are read only up to 2 MiB \(run fail2git fmt to rewrite it canonically\)$/m);
    const r = runCli(['fmt', '--ledger', dir]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('bans/active.yaml: rewritten\n');
    expect(runCli(['validate', '--ledger', dir]).code).toBe(0);
    expect(readFileSync(join(dir, 'bans/active.yaml'), 'utf8').split('\n').length).toBe(n + 4);
  }, 120_000);

  it('the example ledger is canonical', () => {
    const dir = tmpDir('fmt-example');
    cpSync(join(REPO_ROOT, 'bans'), join(dir, 'bans'), { recursive: true });
    const r = runCli(['fmt', '--check', '--ledger', dir]);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
  });
});
