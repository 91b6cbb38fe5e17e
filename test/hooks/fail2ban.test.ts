/**
 * The real fail2ban-server with the fail2git action (hooks/fail2ban/fail2git.conf, copied
 * unchanged) next to a dummy local action: fail2ban never touches the host firewall here.
 * Temp config dir, socket, pidfile, database and a polled log file (test/helpers/fail2ban.ts);
 * a real bare remote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeLedgerRemote, type LedgerRemote } from '../helpers/git.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { commitCount, makeHost, quietHosts, remoteBans, waitFor, watcherPid, type TestHost } from '../helpers/hook-host.js';
import { fail2banAvailable, setUpFail2ban, type Fail2ban, quiesce } from '../helpers/fail2ban.js';

const available = fail2banAvailable();
const JAIL = 'f2gtest';

function serverLog(f: Fail2ban): string {
  return f.serverLog();
}

describe.skipIf(!available)('real fail2ban-server with the fail2git action', () => {
  let remote: LedgerRemote;
  let host: TestHost;
  let f2b: Fail2ban;

  beforeAll(() => {
    remote = makeLedgerRemote();
    host = makeHost(remote.bare, 'f2bhost');
    f2b = setUpFail2ban(host);
    f2b.start();
  });

  afterAll(async () => {
    try {
      f2b?.stop();
    } finally {
      await quietHosts();
      cleanupTmp();
    }
  });

  const banned = (ip: string) => remoteBans(remote.bare).find((b) => b.cidr === ip);

  it('a matching log line bans → a commit on the remote with the jail bantime as TTL', async () => {
    appendFileSync(f2b.log, 'FAIL login from 203.0.113.201\n');
    await waitFor('ban on remote', () => banned('203.0.113.201') !== undefined, 60_000);
    const b = banned('203.0.113.201')!;
    expect(Date.parse(b.expires!) - Date.parse(b.at!)).toBe(600_000);
    expect(b).toMatchObject({ by: 'f2bhost', jail: JAIL, count: 1 });
    // The shell path: the action line wrote a record (its id names it: `-r0` + 32 hex), no node hook ran.
    expect(git(remote.bare, 'log', '-1', '--format=%B', 'main')).toMatch(/^Fail2git-Id: \d{13}-f2bhost-r0[0-9a-f]{32}$/m);
    // and a resident flusher runs (started by actionstart or the action line), so the next ban goes out at once.
    expect(watcherPid(host)).not.toBeNull();
  });

  it('an address with shell metacharacters is never evaluated: refused at flush time, kept in spool/refused/, one log line, a metric', async () => {
    // fail2ban takes anything without a `/` as an address for banip (a "raw" IPAddr) and hands it to
    // the shell escaped (as a variable). Evaluated, this value would change (or fail); it must arrive as it is.
    const evil = `203.0.113.66;$(echo)\`echo\`'"x|y&`;
    f2b.client('set', JAIL, 'banip', evil);
    f2b.client('set', JAIL, 'banip', '224.0.0.7'); // multicast: a special address the hook refuses
    const refusedDir = join(host.spool, 'refused');
    const refusedFiles = () => (existsSync(refusedDir) ? readdirSync(refusedDir) : []);
    const log = () => (existsSync(join(host.stateDir, 'flush.log')) ? readFileSync(join(host.stateDir, 'flush.log'), 'utf8') : '');
    // Each refusal: an entry in spool/refused/, then its line in the resident flusher's log.
    await waitFor('both refused and logged', () => refusedFiles().length >= 2 && /refused hook record [0-9a-f]{32}\.f2b: .*224\.0\.0\.7/.test(log()) && /refused hook record [0-9a-f]{32}\.f2b: .*not an IP address/.test(log()), 60_000);
    const bodies = refusedFiles().map((n) => JSON.parse(readFileSync(join(refusedDir, n), 'utf8')) as { refused: string; record: string });
    expect(bodies.some((b) => b.record.includes(`\nip ${evil}\nend\n`))).toBe(true);
    await waitFor('metric', () => /^fail2git_spool_refused [2-9]/m.test(readFileSync(join(host.stateDir, 'fail2git-spool.prom'), 'utf8')), 30_000);
    expect(remoteBans(remote.bare).some((b) => b.cidr === '224.0.0.7' || b.cidr.startsWith('203.0.113.66'))).toBe(false);
    expect(serverLog(f2b)).not.toMatch(/ERROR.*fail2git/);
  });

  it('`set JAIL banip` → a commit', async () => {
    f2b.client('set', JAIL, 'banip', '203.0.113.202');
    await waitFor('banip on remote', () => banned('203.0.113.202') !== undefined, 60_000);
    await quiesce(host);
  });

  it('manual `unbanip` before expiry → an unban commit', async () => {
    await quiesce(host);
    const before = commitCount(remote.bare);
    f2b.client('set', JAIL, 'unbanip', '203.0.113.202');
    await waitFor('unban on remote', () => banned('203.0.113.202') === undefined, 60_000);
    expect(commitCount(remote.bare)).toBe(before + 1);
  });

  it('stop → no unban commit; start again (restored bans) → no new commit', async () => {
    const before = commitCount(remote.bare);
    f2b.stop();
    await quiesce(host);
    expect(commitCount(remote.bare)).toBe(before);
    expect(banned('203.0.113.201')).toBeDefined();
    f2b.start();
    await waitFor('bans restored', () => /Restore Ban 203\.0\.113\.201/.test(serverLog(f2b)), 60_000);
    await quiesce(host);
    expect(commitCount(remote.bare)).toBe(before);
  });

  it('expiry with a short bantime → the ban is committed, its expiry is not', async () => {
    await quiesce(host, 500);
    f2b.client('set', JAIL, 'bantime', '6'); // long enough that hook + flusher deliver it before it ends, on a loaded machine too
    f2b.client('set', JAIL, 'banip', '203.0.113.203');
    await waitFor('short ban on remote', () => banned('203.0.113.203') !== undefined, 60_000);
    const after = commitCount(remote.bare);
    await waitFor('fail2ban unbanned it', () => /Unban 203\.0\.113\.203/.test(serverLog(f2b)), 60_000);
    await quiesce(host);
    expect(commitCount(remote.bare)).toBe(after);
    expect(banned('203.0.113.203')).toBeDefined(); // the TTL governs; gc removes it later
    expect(serverLog(f2b)).not.toMatch(/ERROR.*fail2git/);
  });
});
