import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { writeLedger } from '../helpers/fixtures.js';
import { cleanupTmp } from '../helpers/tmp.js';

afterAll(() => cleanupTmp());

const LEDGER = {
  'bans/active.yaml': `apiVersion: fail2git/v1
kind: BanList
bans:
  - {cidr: 192.0.2.5, by: web1}
  - {cidr: 198.51.100.7, expires: 2026-11-22T10:00:00Z, at: 2026-11-22T09:00:00Z, by: web1, jail: sshd, count: 1}
  - {cidr: 198.51.100.23, expires: 2026-11-22T08:00:00Z, by: mail1}
  - {cidr: 203.0.113.0/24, by: alice}
  - {cidr: "2001:db8:dead::/48", expires: 2026-12-01T00:00:00Z, by: mail1, jail: postfix}
`,
  'bans/allow.yaml': 'apiVersion: fail2git/v1\nkind: AllowList\nallow:\n  - {cidr: 192.0.2.0/28}\n',
};

describe('fail2git list', () => {
  it('prints the enforceable set at --at, with a summary on stderr', () => {
    const dir = writeLedger(LEDGER);
    const r = runCli(['list', '--ledger', dir, '--at', '2026-11-22T09:30:00Z']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([
      '198.51.100.7        2026-11-22T10:00:00Z  by web1  jail sshd',
      '203.0.113.0/24      permanent             by alice',
      '2001:db8:dead::/48  2026-12-01T00:00:00Z  by mail1  jail postfix',
      '',
    ].join('\n'));
    expect(r.stderr).toBe('3 enforceable at 2026-11-22T09:30:00Z (skipped: 1 allowlisted, 1 expired)\n');
  });

  it('--json carries entries, skipped reasons and the next expiry', () => {
    const r = runCli(['list', '--json', '--ledger', writeLedger(LEDGER), '--at', '2026-11-22T09:30:00Z']);
    const doc = JSON.parse(r.stdout) as { at: string; entries: { cidr: string }[]; skipped: { cidr: string; reason: string }[]; nextExpiry: string };
    expect(doc.at).toBe('2026-11-22T09:30:00Z');
    expect(doc.entries.map((e) => e.cidr)).toEqual(['198.51.100.7', '203.0.113.0/24', '2001:db8:dead::/48']);
    expect(doc.skipped.map((s) => `${s.cidr} ${s.reason}`)).toEqual(['192.0.2.5 allowlisted', '198.51.100.23 expired']);
    expect(doc.nextExpiry).toBe('2026-11-22T10:00:00Z');
  });

  it('an invalid ledger lists nothing and exits 1', () => {
    const r = runCli(['list', '--ledger', writeLedger({ 'bans/active.yaml': 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 1.2.3}\n' })]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('bans/active.yaml:4:12: "1.2.3" is not an IP address or CIDR');
  });

  it('a bad --at is a usage error', () => {
    const r = runCli(['list', '--ledger', writeLedger(LEDGER), '--at', 'yesterday']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^fail2git: --at: "yesterday" is not an RFC 3339 time/);
  });
});

describe('fail2git export', () => {
  it('txt is one canonical address or CIDR per line, nothing else', () => {
    const r = runCli(['export', '--format', 'txt', '--ledger', writeLedger(LEDGER), '--at', '2026-11-22T09:30:00Z']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('198.51.100.7\n203.0.113.0/24\n2001:db8:dead::/48\n');
  });

  it('json and --output write the file atomically', () => {
    const dir = writeLedger(LEDGER);
    const out = join(dir, 'export.json');
    const r = runCli(['export', '--format', 'json', '--output', out, '--ledger', dir, '--at', '2026-11-22T10:00:00Z']);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({
      at: '2026-11-22T10:00:00Z',
      count: 2,
      entries: [{ cidr: '203.0.113.0/24' }, { cidr: '2001:db8:dead::/48', expires: '2026-12-01T00:00:00Z' }],
    });
    expect(r.stderr).toContain(`wrote ${out}`);
  });

  it('an unknown format is a usage error', () => {
    expect(runCli(['export', '--format', 'csv', '--ledger', writeLedger(LEDGER)]).code).toBe(2);
  });
});

describe('a reader that stops early (`fail2git list | head -1`)', () => {
  it('ends quietly: exit 0, no EPIPE stack trace', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI } = await import('../helpers/cli.js');
    const lines = Array.from({ length: 30000 }, (_, i) => `  - {cidr: 10.${(i >> 8) & 255}.${i & 255}.1}`);
    const dir = writeLedger({ 'bans/active.yaml': `apiVersion: fail2git/v1\nkind: BanList\nbans:\n${lines.join('\n')}\n` });
    const child = spawn(process.execPath, [CLI, 'list', '--ledger', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
