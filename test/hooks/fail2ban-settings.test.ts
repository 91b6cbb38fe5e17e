/**
 * The shipped action file under fail2ban settings an admin really uses, with the real
 * fail2ban-server (test/helpers/fail2ban.ts): permanent jails, restarts with restored bans
 * followed by a manual unbanip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync } from 'node:fs';
import { makeLedgerRemote, type LedgerRemote } from '../helpers/git.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { commitCount, makeHost, quietHosts, remoteBans, waitFor } from '../helpers/hook-host.js';
import { fail2banAvailable, setUpFail2ban, type Fail2ban, quiesce } from '../helpers/fail2ban.js';

const available = fail2banAvailable();

describe.skipIf(!available)('fail2ban settings reach the ledger exactly', () => {
  let remote: LedgerRemote;
  const servers: Fail2ban[] = [];

  beforeAll(() => {
    remote = makeLedgerRemote();
  });

  afterAll(async () => {
    try {
      for (const s of servers) s.stop();
    } finally {
      await quietHosts();
      cleanupTmp();
    }
  });

  const banned = (ip: string) => remoteBans(remote.bare).find((b) => b.cidr === ip);

  it('bantime = -1: a ban lands as a permanent entry (the example ledger escalates; only a policy maxTtl would cap it), without an error in fail2ban\'s log', async () => {
    const host = makeHost(remote.bare, 'permhost');
    const f2b = setUpFail2ban(host, { jail: 'permjail', bantime: '-1' });
    servers.push(f2b);
    f2b.start();
    appendFileSync(f2b.log, 'FAIL login from 203.0.113.221\n');
    await waitFor('permanent ban on remote', () => banned('203.0.113.221') !== undefined, 30_000);
    const b = banned('203.0.113.221')!;
    expect(b.expires).toBeUndefined();
    expect(b).toMatchObject({ by: 'permhost', jail: 'permjail', count: 1 });
    await quiesce(host);
    expect(f2b.serverLog()).not.toMatch(/ERROR/);
    f2b.stop();
  }, 240_000);

  it('ban → restart (restored, no commit) → unbanip lifts it network-wide', async () => {
    const host = makeHost(remote.bare, 'resthost');
    const f2b = setUpFail2ban(host, { jail: 'restjail' });
    servers.push(f2b);
    f2b.start();
    f2b.client('set', 'restjail', 'banip', '203.0.113.222');
    await waitFor('ban on remote', () => banned('203.0.113.222') !== undefined, 60_000);
    await quiesce(host);
    const before = commitCount(remote.bare);
    f2b.stop();
    f2b.start();
    await waitFor('ban restored', () => /Restore Ban 203\.0\.113\.222/.test(f2b.serverLog()), 60_000);
    await quiesce(host);
    expect(commitCount(remote.bare)).toBe(before);
    f2b.client('set', 'restjail', 'unbanip', '203.0.113.222');
    await waitFor('unban on remote', () => banned('203.0.113.222') === undefined, 30_000);
    expect(commitCount(remote.bare)).toBe(before + 1);
    expect(f2b.serverLog()).not.toMatch(/ERROR/);
    f2b.stop();
  }, 240_000);

  // bantime.increment: fail2ban lengthens a repeat offender's bantime itself (bancount > 1);
  // the ledger takes that bantime as given instead of escalating it again.
  it('bantime.increment: a repeat ban lands with fail2ban\'s increased bantime, never escalated on top', async () => {
    const host = makeHost(remote.bare, 'incrhost');
    const f2b = setUpFail2ban(host, { jail: 'incrjail', bantime: '6', jailLines: ['bantime.increment = true', 'bantime.multipliers = 1 4 8'] });
    servers.push(f2b);
    f2b.start();
    const ip = '203.0.113.223';
    appendFileSync(f2b.log, `FAIL login from ${ip}\n`);
    await waitFor('first ban on remote', () => banned(ip) !== undefined, 30_000);
    const first = banned(ip)!;
    expect(Date.parse(first.expires!) - Date.parse(first.at!)).toBe(6000);
    await waitFor('fail2ban unbans at expiry', () => /Unban 203\.0\.113\.223/.test(f2b.serverLog()), 30_000);
    await quiesce(host, 500);
    appendFileSync(f2b.log, `FAIL login from ${ip}\n`);
    await waitFor('second ban on remote', () => (banned(ip)?.count ?? 0) === 2, 30_000);
    const second = banned(ip)!;
    // fail2ban logs the bantime it chose: "[incrjail] Increase Ban 203.0.113.223 (2 # 24s -> …)"
    const m = /Increase Ban 203\.0\.113\.223 \(2 # (\d+)s ->/.exec(f2b.serverLog());
    expect(m, f2b.serverLog()).not.toBeNull();
    const chosen = Number(m![1]) * 1000;
    expect(chosen).toBe(24_000); // bantime 6 s × multiplier 4 for the second ban
    expect(Date.parse(second.expires!) - Date.parse(second.at!)).toBe(chosen);
    expect(f2b.serverLog()).not.toMatch(/ERROR/);
    f2b.stop();
  }, 120_000);

  it('without bantime.increment the ledger\'s escalation governs a repeat ban (bantime × factor)', async () => {
    const host = makeHost(remote.bare, 'escahost');
    const f2b = setUpFail2ban(host, { jail: 'escajail', bantime: '6' }); // long enough to be delivered before it ends on a loaded machine
    servers.push(f2b);
    f2b.start();
    const ip = '203.0.113.224';
    appendFileSync(f2b.log, `FAIL login from ${ip}\n`);
    await waitFor('first ban on remote', () => banned(ip) !== undefined, 30_000);
    await waitFor('fail2ban unbans at expiry', () => /Unban 203\.0\.113\.224/.test(f2b.serverLog()), 30_000);
    await quiesce(host, 500);
    appendFileSync(f2b.log, `FAIL login from ${ip}\n`);
    await waitFor('second ban on remote', () => (banned(ip)?.count ?? 0) === 2, 30_000);
    const second = banned(ip)!;
    expect(Date.parse(second.expires!) - Date.parse(second.at!)).toBe(12_000); // policy escalation factor 2
    f2b.stop();
  }, 120_000);
});
