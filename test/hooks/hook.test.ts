/**
 * The hook through the real CLI against a real bare git remote: what lands on the remote,
 * what is refused, and that bad input never reaches the spool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLedgerRemote, git, type LedgerRemote } from '../helpers/git.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { commitCount, hookArgs, makeHost, remoteBans, settled, spooled, waitFor, quietHosts } from '../helpers/hook-host.js';
import { cli } from '../helpers/cli.js';

afterAll(async () => {
  await quietHosts();
  cleanupTmp();
});

let remote: LedgerRemote;
beforeAll(() => {
  remote = makeLedgerRemote();
});

describe('hook ban/unban', () => {
  it('a ban lands on the remote with the right TTL, author = host, structured trailers', async () => {
    const host = makeHost(remote.bare, 'web1');
    const time = Math.floor(Date.now() / 1000);
    const res = await cli(hookArgs(host, 'ban', '203.0.113.50', { time: String(time), bantime: '600' }));
    expect(res).toMatchObject({ code: 0, stderr: '' });
    await waitFor('ban on remote', () => remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.50'));
    const ban = remoteBans(remote.bare).find((b) => b.cidr === '203.0.113.50')!;
    expect(Date.parse(ban.expires!) - Date.parse(ban.at!)).toBe(600_000);
    expect(ban).toMatchObject({ by: 'web1', jail: 'sshd', count: 1 });
    const log = git(remote.bare, 'log', '-1', '--format=%an <%ae>%n%s%n%b', 'main');
    expect(log).toContain('web1 <fail2git@web1>');
    expect(log).toContain('ban 203.0.113.50 (sshd@web1, 10m)');
    expect(log).toContain('Fail2git-Op: ban\nFail2git-Cidr: 203.0.113.50\nFail2git-Jail: sshd\nFail2git-Host: web1');
    await waitFor('spool drained', () => settled(host));
  });

  it('unban at natural expiry is a no-op; an earlier unban lifts the ban', async () => {
    const host = makeHost(remote.bare, 'web2');
    const time = Math.floor(Date.now() / 1000);
    await cli(hookArgs(host, 'ban', '203.0.113.51', { time: String(time) }));
    await waitFor('ban on remote', () => remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.51'));
    await waitFor('settled', () => settled(host));
    const before = commitCount(remote.bare);
    const natural = await cli(hookArgs(host, 'unban', '203.0.113.51', { time: String(time - 7200), bantime: '3600' }));
    expect(natural.code).toBe(0);
    expect(natural.stderr).toMatch(/natural expiry/);
    expect(spooled(host)).toEqual([]);
    const early = await cli(hookArgs(host, 'unban', '203.0.113.51', { time: String(time) }));
    expect(early.code).toBe(0);
    await waitFor('unban on remote', () => !remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.51'));
    expect(commitCount(remote.bare)).toBe(before + 1);
    expect(git(remote.bare, 'log', '-1', '--format=%s', 'main')).toBe('unban 203.0.113.51 (sshd@web2)');
  });

  it('prolong extends the expiry without counting an offence; restored bans are not committed', async () => {
    const host = makeHost(remote.bare, 'web3');
    const time = Math.floor(Date.now() / 1000);
    await cli(hookArgs(host, 'ban', '203.0.113.52', { time: String(time), bantime: '600' }));
    await waitFor('ban', () => remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.52'));
    await cli(hookArgs(host, 'prolong', '203.0.113.52', { time: String(time), bantime: '7200' }));
    await waitFor('prolonged', () => {
      const b = remoteBans(remote.bare).find((x) => x.cidr === '203.0.113.52');
      return b !== undefined && Date.parse(b.expires!) === (time + 7200) * 1000;
    });
    expect(remoteBans(remote.bare).find((x) => x.cidr === '203.0.113.52')!.count).toBe(1);
    await waitFor('settled', () => settled(host));
    const restored = await cli(hookArgs(host, 'ban', '203.0.113.53', { restored: '1' }));
    expect(restored.code).toBe(0);
    expect(spooled(host)).toEqual([]);
  });

  it('permanent: `--bantime -1` (spaced, as a person types it) bans and prolongs to a permanent entry, escalation or not', async () => {
    const host = makeHost(remote.bare, 'web7');
    const time = String(Math.floor(Date.now() / 1000));
    const ban = await cli(['hook', 'ban', '--jail', 'sshd', '--ip', '203.0.113.57', '--bantime', '600', '--time', time, '--config', host.config]);
    expect(ban).toMatchObject({ code: 0, stderr: '' });
    await waitFor('ban', () => remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.57'));
    const prolong = await cli(['hook', 'prolong', '--jail', 'sshd', '--ip', '203.0.113.57', '--bantime', '-1', '--time', time, '--config', host.config]);
    expect(prolong).toMatchObject({ code: 0, stderr: '' });
    await waitFor('prolonged to permanent', () => remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.57' && b.expires === undefined));
    const perm = await cli(['hook', 'ban', '--jail=sshd', '--ip=203.0.113.58', '--bantime=-1', `--time=${time}.5`, '--bancount=', '--config', host.config]);
    expect(perm).toMatchObject({ code: 0, stderr: '' });
    await waitFor('permanent ban', () => remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.58'));
    expect(remoteBans(remote.bare).find((b) => b.cidr === '203.0.113.58')!.expires).toBeUndefined();
    await waitFor('settled', () => settled(host));
  });

  it('refuses allowlisted and too-broad addresses: one line, exit 0 (fail2ban must not retry), nothing spooled, kept in spool/refused/', async () => {
    const host = makeHost(remote.bare, 'web4');
    expect((await cli(['flush', '--config', host.config])).code).toBe(0); // fetches, writes the guard cache
    for (const ip of ['192.0.2.5', '198.51.100.250', '2001:db8:1::77', '10.0.0.0/7', '0.0.0.0', '255.255.255.255', '224.0.0.1', '127.0.0.1', '::']) {
      const res = await cli(hookArgs(host, 'ban', ip));
      expect(res.code, ip).toBe(0);
      expect(res.stderr, ip).toMatch(/^fail2git: refusing to ban .*(allowlisted|broader|never banned)[^\n]*\n$/);
      expect(spooled(host), ip).toEqual([]);
    }
    const pending = JSON.parse((await cli(['pending', '--json', '--config', host.config])).stdout) as { refused: number; refusedOps: { cidr: string; refused: string }[] };
    expect(pending.refused).toBe(9);
    expect(pending.refusedOps.map((o) => o.refused)).toEqual(expect.arrayContaining([expect.stringMatching(/allowlisted/), expect.stringMatching(/broader/)]));
    expect(readFileSync(join(host.stateDir, 'fail2git-spool.prom'), 'utf8')).toMatch(/^fail2git_spool_refused 9$/m);
  });

  it.each([
    ['an invalid address', ['--ip', '999.1.1.1']],
    ['shell metacharacters', ['--ip', '1.2.3.4; rm -rf /']],
    ['an empty address', ['--ip', '']],
    ['a hostname', ['--ip', 'evil.example.com']],
    ['everything', ['--ip', '0.0.0.0/0']],
    ['host bits', ['--ip', '10.0.0.1/8']],
    ['a bad jail', ['--ip', '1.2.3.4', '--jail', '$(reboot)']],
    ['a bad bantime', ['--ip', '1.2.3.4', '--bantime', '1h']],
    ['a bad time', ['--ip', '1.2.3.4', '--time', 'yesterday']],
    ['a bad restored flag', ['--ip', '1.2.3.4', '--restored', 'yes']],
  ])('bad input (%s): one clear line, non-zero, nothing spooled', async (_what, flags) => {
    const host = makeHost(remote.bare, 'bad1');
    const base = hookArgs(host, 'ban', '1.2.3.4');
    const args = [...base];
    for (let i = 0; i < flags.length; i += 2) args[args.indexOf(flags[i]!) + 1] = flags[i + 1]!;
    const res = await cli(args);
    expect(res.code).not.toBe(0);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^fail2git: /);
    expect(existsSync(host.spool)).toBe(false);
  });

  it.each([
    ['missing --ip', ['hook', 'ban', '--jail', 'sshd', '--bantime', '60', '--time', '1']],
    ['missing action', ['hook', '--jail', 'sshd', '--ip', '1.2.3.4', '--bantime', '60', '--time', '1']],
    ['unknown flag', ['hook', 'ban', '--jail', 'sshd', '--ip', '1.2.3.4', '--bantime', '60', '--time', '1', '--evil', 'x']],
  ])('usage errors (%s) exit non-zero and spool nothing', async (_what, args) => {
    const host = makeHost(remote.bare, 'bad2');
    const res = await cli([...args, '--config', host.config]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/^fail2git: /);
    expect(existsSync(join(host.stateDir, 'spool'))).toBe(false);
  });

  it('a missing config is one line and exit 1', async () => {
    const res = await cli(['hook', 'ban', '--jail', 'sshd', '--ip', '1.2.3.4', '--bantime', '60', '--time', '1', '--config', '/nonexistent/f2g.yaml']);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(/^fail2git: \/nonexistent\/f2g\.yaml: cannot read host config/);
  });
});
