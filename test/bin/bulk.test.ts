/**
 * Bulk work through the real CLI and a real remote: `ban --from-file` (a blocklist in one
 * commit), `unban --jail/--by/--reason/--from-file` (blast radius first, the removal guard
 * honoured), `list` filters.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLedgerRemote } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { commitCount, makeHost, quietHosts, remoteBans, spooled } from '../helpers/hook-host.js';
import { cli, runCli } from '../helpers/cli.js';
import { ledgerFiles, writeLedger } from '../helpers/fixtures.js';

afterAll(async () => {
  await quietHosts();
  cleanupTmp();
});

const DROP = `; Spamhaus DROP List 2026/12/01 - (c) 2026 The Spamhaus Project
; https://www.spamhaus.org/drop/drop.txt
1.10.16.0/20 ; SBL256894
1.19.0.0/16 ; SBL434604
2.56.192.0/22 ; SBL459831
# a FireHOL-style line
203.0.113.77
2001:db8:dead::/48
`;

function file(name: string, text: string): string {
  const p = join(tmpDir('f2g-bulk'), name);
  writeFileSync(p, text);
  return p;
}

describe('ban --from-file', () => {
  it('prints the blast radius and bans a whole blocklist in one commit', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'admin1');
    const before = commitCount(remote.bare);
    const r = await cli(['ban', '--from-file', file('drop.txt', DROP), '--ttl', '7d', '--reason', 'Spamhaus DROP', '--config', host.config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ban 5 networks \(70,657 IPv4 addresses, 1 IPv6 network\) from .*drop\.txt: 1\.10\.16\.0\/20, 1\.19\.0\.0\/16, /);
    expect(r.stdout).toMatch(/^banned 5, unchanged 0, refused 0: pushed [0-9a-f]{12}$/m);
    expect(commitCount(remote.bare)).toBe(before + 1);
    const bans = remoteBans(remote.bare);
    for (const c of ['1.10.16.0/20', '1.19.0.0/16', '2.56.192.0/22', '203.0.113.77', '2001:db8:dead::/48']) {
      expect(bans.find((b) => b.cidr === c), c).toMatchObject({ reason: 'Spamhaus DROP' });
    }
  });

  it('a bad line bans nothing and names file:line; --dry-run changes nothing', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'admin2');
    const before = remote.head();
    const bad = file('bad.txt', '203.0.113.1\n203.0.113.300\n');
    const r = await cli(['ban', '--from-file', bad, '--config', host.config]);
    expect(r.code).toBe(1);
    expect(r.stderr.startsWith(`fail2git: ${bad}:2: `)).toBe(true);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/nothing was banned\n$/);
    const dry = await cli(['ban', '--from-file', file('ok.txt', '203.0.113.1\n'), '--dry-run', '--config', host.config]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^ban 1 network \(1 IPv4 address\) from \S+ok\.txt: 203\.0\.113\.1\n$/);
    expect(spooled(host)).toEqual([]);
    expect(remote.head()).toBe(before);
  });

  it('allowlisted and too-broad entries are refused (exit 1); the rest still go', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'admin3');
    await cli(['flush', '--config', host.config]); // caches the allowlist, as the install does
    const r = await cli(['ban', '--from-file', file('mixed.txt', '192.0.2.5\n10.0.0.0/7\n203.0.113.88\n'), '--config', host.config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to ban 192\.0\.2\.5/);
    expect(r.stderr).toMatch(/refusing to ban 10\.0\.0\.0\/7/);
    expect(r.stdout).toMatch(/^banned 1, unchanged 0, refused 2: pushed/m);
    const cidrs = remoteBans(remote.bare).map((b) => b.cidr);
    expect(cidrs).toContain('203.0.113.88');
    expect(cidrs).not.toContain('192.0.2.5');
  });
});

describe('bulk unban', () => {
  const bans = Array.from({ length: 6 }, (_, i) => ({ cidr: `198.51.100.${i + 1}` }));

  it('--jail selects at the remote tip, shows the blast radius, and unbans in one commit', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans, policy: { maxRemovePerRun: 10 } }));
    remote.commit({ 'bans/active.yaml': `${readFileSync(join(remote.work, 'bans/active.yaml'), 'utf8').trimEnd()}\n  - {cidr: 203.0.113.5, at: 2026-01-01T00:00:00Z, by: mail1, jail: postfix}\n` });
    const host = makeHost(remote.bare, 'admin4');
    const before = commitCount(remote.bare);
    const dry = await cli(['unban', '--jail', 'sshd', '--dry-run', '--config', host.config]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^unban 6 networks \(6 IPv4 addresses\) of 7 bans at [0-9a-f]{12}: 198\.51\.100\.1, /);
    expect(commitCount(remote.bare)).toBe(before);
    const r = await cli(['unban', '--jail', 'sshd', '--as', 'alice', '--config', host.config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^unbanned 6, unchanged 0: pushed/m);
    expect(commitCount(remote.bare)).toBe(before + 1);
    expect(remoteBans(remote.bare).map((b) => b.cidr)).toEqual(['203.0.113.5']);
  });

  it('refuses more than the removal guard allows, spooling nothing, until --force', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans, policy: { maxRemovePerRun: 3 } }));
    const host = makeHost(remote.bare, 'admin5');
    const r = await cli(['unban', '--by', 'test', '--config', host.config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^fail2git: refusing to unban 6 of 6 bans at once: the ledger's maxRemovePerRun 3 allows 3/);
    expect(spooled(host)).toEqual([]);
    expect(remoteBans(remote.bare)).toHaveLength(6);
    const forced = await cli(['unban', '--by', 'test', '--force', '--config', host.config]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(remoteBans(remote.bare)).toHaveLength(0);
  });

  it('--reason and --from-file select; a CIDR with a selection is a usage error', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans, policy: { maxRemovePerRun: 10 } }));
    const host = makeHost(remote.bare, 'admin6');
    const listed = await cli(['unban', '--from-file', file('lift.txt', '198.51.100.2\n198.51.100.9\n'), '--config', host.config]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^unban 1 network \(1 IPv4 address\) of 6 bans/);
    expect(remoteBans(remote.bare).map((b) => b.cidr)).not.toContain('198.51.100.2');
    const none = await cli(['unban', '--reason', 'no such reason', '--config', host.config]);
    expect(none).toMatchObject({ code: 0 });
    expect(none.stdout).toMatch(/^no ban at [0-9a-f]{12} matches; nothing to do\n$/);
    const both = await cli(['unban', '198.51.100.3', '--jail', 'sshd', '--config', host.config]);
    expect(both.code).toBe(2);
  });
});

describe('list filters', () => {
  it('--jail, --by and --expiring-within narrow the enforceable set', () => {
    const soon = new Date(Date.now() + 30 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const later = new Date(Date.now() + 3 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const dir = writeLedger({
      ...ledgerFiles({}),
      'bans/active.yaml': ['apiVersion: fail2git/v1', 'kind: BanList', 'bans:',
        `  - {cidr: 203.0.113.1, expires: ${soon}, at: 2026-01-01T00:00:00Z, by: web1, jail: sshd}`,
        `  - {cidr: 203.0.113.2, expires: ${later}, at: 2026-01-01T00:00:00Z, by: mail1, jail: postfix}`,
        '  - {cidr: 203.0.113.3, at: 2026-01-01T00:00:00Z, by: alice}', ''].join('\n'),
    });
    const cidrs = (args: string[]) => runCli(['list', '--ledger', dir, ...args]).stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]);
    expect(cidrs([])).toEqual(['203.0.113.1', '203.0.113.2', '203.0.113.3']);
    expect(cidrs(['--jail', 'postfix'])).toEqual(['203.0.113.2']);
    expect(cidrs(['--by', 'alice'])).toEqual(['203.0.113.3']);
    expect(cidrs(['--expiring-within', '1h'])).toEqual(['203.0.113.1']);
    expect(cidrs(['--expiring-within', '7d'])).toEqual(['203.0.113.1', '203.0.113.2']);
    expect(runCli(['list', '--ledger', dir, '--expiring-within', 'soon']).code).toBe(2);
  });
});
