/** `fail2git ban` / `unban` / `pending` for people, through the real CLI and a real remote. */
import { afterAll, describe, expect, it } from 'vitest';
import { makeLedgerRemote, git } from '../helpers/git.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { manualOperation } from '../../hooks/manual.js';
import { makeHost, remoteBans, spooled, quietHosts } from '../helpers/hook-host.js';
import { cli } from '../helpers/cli.js';

afterAll(async () => {
  await quietHosts();
  cleanupTmp();
});

describe('manualOperation', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  it('builds a ban with ttl, until or permanent, and refuses nonsense', () => {
    expect(manualOperation({ op: 'ban', cidr: '203.0.113.0/24', ttl: '2h', by: 'alice' }, 'web1', now)).toMatchObject({ cidr: '203.0.113.0/24', ttl: 7200, by: 'alice', at: '2026-11-25T10:00:00Z' });
    expect(manualOperation({ op: 'ban', cidr: '203.0.113.7', permanent: true }, 'web1', now).ttl).toBe(-1);
    expect(manualOperation({ op: 'ban', cidr: '203.0.113.7', until: '2026-12-01T00:00:00Z' }, 'web1', now).until).toBe('2026-12-01T00:00:00Z');
    expect(() => manualOperation({ op: 'ban', cidr: '203.0.113.7/24' }, 'web1', now)).toThrow(/host bits set \(did you mean 203.0.113.0\/24\?\)/);
    expect(() => manualOperation({ op: 'ban', cidr: '203.0.113.7', ttl: '1h', permanent: true }, 'web1', now)).toThrow(/at most one/);
    expect(() => manualOperation({ op: 'ban', cidr: '203.0.113.7', until: '2020-01-01T00:00:00Z' }, 'web1', now)).toThrow(/not in the future/);
    expect(() => manualOperation({ op: 'ban', cidr: '203.0.113.7', reason: 'a\nb' }, 'web1', now)).toThrow(/one non-empty line/);
  });

  it('refuses a reason or name with a control character (it would make the ledger invalid for every host)', () => {
    expect(() => manualOperation({ op: 'ban', cidr: '203.0.113.7', reason: 'a\tb' }, 'web1', now)).toThrow(/printable/);
    expect(() => manualOperation({ op: 'ban', cidr: '203.0.113.7', reason: 'x \u001b[2J' }, 'web1', now)).toThrow(/printable/);
    expect(() => manualOperation({ op: 'unban', cidr: '203.0.113.7', by: 'eve\u202e' }, 'web1', now)).toThrow(/--by must be/);
  });
});

describe('fail2git ban / unban / pending', () => {
  it('ban pushes now and prints the commit; unban lifts it; both authored by the host, by = the person', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'admin1');
    const ban = await cli(['ban', '203.0.113.0/25', '--ttl', '2h', '--reason', 'scanner, ticket 7', '--by', 'alice', '--config', host.config]);
    expect(ban.code, ban.stderr).toBe(0);
    const head = remote.head();
    expect(ban.stdout.trim()).toBe(`ban 203.0.113.0/25 (alice, 2h): pushed ${head.slice(0, 12)}`);
    const entry = remoteBans(remote.bare).find((b) => b.cidr === '203.0.113.0/25')!;
    expect(entry).toMatchObject({ by: 'alice', reason: 'scanner, ticket 7', count: 1 });
    expect(Date.parse(entry.expires!) - Date.parse(entry.at!)).toBe(7_200_000);
    expect(git(remote.bare, 'log', '-1', '--format=%ae%n%b', 'main')).toMatch(/^fail2git@admin1\n[\s\S]*Fail2git-By: alice\n[\s\S]*Fail2git-Reason: scanner, ticket 7/);
    const unban = await cli(['unban', '203.0.113.0/25', '--by', 'bob', '--config', host.config]);
    expect(unban.code, unban.stderr).toBe(0);
    expect(unban.stdout).toMatch(/^unban 203.0.113.0\/25 \(bob\): pushed [0-9a-f]{12}/);
    expect(remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.0/25')).toBe(false);
    const again = await cli(['unban', '203.0.113.0/25', '--config', host.config]);
    expect(again).toMatchObject({ code: 0, stdout: '203.0.113.0/25 was not banned; nothing to do\n' });
    expect(spooled(host)).toEqual([]);
  });

  it('refuses allowlisted and too-broad networks (exit 1) and spools nothing', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'admin2');
    await cli(['flush', '--config', host.config]);
    for (const cidr of ['192.0.2.0/24', '10.0.0.0/7']) {
      const res = await cli(['ban', cidr, '--config', host.config]);
      expect(res.code, cidr).toBe(1);
      expect(res.stderr).toMatch(/^fail2git: refusing to ban/);
    }
    expect(spooled(host)).toEqual([]);
    const usage = await cli(['ban', '--config', host.config]);
    expect(usage.code).toBe(2);
  });

  it('remote unreachable: the ban stays queued (exit 1); pending lists it', async () => {
    const host = makeHost('/nonexistent/ledger.git', 'admin3');
    const res = await cli(['ban', '203.0.113.9', '--config', host.config]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^fail2git: ban 203.0.113.9 queued, not yet pushed: cannot fetch main/);
    const pending = await cli(['pending', '--config', host.config]);
    expect(pending.stdout).toMatch(/ ban {2}203\.0\.113\.9 /);
    expect(pending.stdout).toMatch(/1 pending; last flush .*: failed: cannot fetch/);
  });
});
