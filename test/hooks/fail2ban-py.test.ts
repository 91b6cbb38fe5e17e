/**
 * The real fail2ban-server with the in-process Python action (hooks/fail2ban/fail2git.py,
 * copied unchanged, used as `fail2git.py[...]`) next to a dummy local action: fail2ban never
 * touches the host firewall here. Temp config dir, socket, pidfile, database and a polled log
 * file (test/helpers/fail2ban.ts); a real bare remote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeLedgerRemote, type LedgerRemote } from '../helpers/git.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { commitCount, makeHost, quietHosts, remoteBans, spooled, stopWatchers, waitFor, watcherPid, type TestHost } from '../helpers/hook-host.js';
import { cli } from '../helpers/cli.js';
import { fail2banAvailable, setUpFail2ban, type Fail2ban, quiesce } from '../helpers/fail2ban.js';

const available = fail2banAvailable();
const JAIL = 'f2gpy';

describe.skipIf(!available)('real fail2ban-server with the in-process fail2git.py action', () => {
  let remote: LedgerRemote;
  let host: TestHost;
  let f2b: Fail2ban;

  beforeAll(() => {
    remote = makeLedgerRemote();
    host = makeHost(remote.bare, 'f2bpyhost');
    f2b = setUpFail2ban(host, { jail: JAIL, action: 'py' });
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
  const errors = () => f2b.serverLog().split('\n').filter((l) => / ERROR /.test(l));

  it('`fail2ban-client -t` accepts a jail using fail2git.py, and `-d` shows it as a Python action with its options', () => {
    const base = ['-c', f2b.conf];
    expect(execFileSync('fail2ban-client', [...base, '-t'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toMatch(/OK: configuration test is successful/);
    const dump = execFileSync('fail2ban-client', [...base, '-d'], { encoding: 'utf8' });
    expect(dump).toContain(`['set', '${JAIL}', 'addaction', 'fail2git', '${f2b.conf}/action.d/fail2git.py'`);
    expect(dump).toContain(`"config": "${host.config}"`);
  });

  it('`set JAIL banip` → the record lands in the spool and the flusher delivers it to the remote', async () => {
    f2b.start();
    f2b.client('set', JAIL, 'banip', '203.0.113.211');
    await waitFor('ban on remote', () => banned('203.0.113.211') !== undefined, 60_000);
    const b = banned('203.0.113.211')!;
    expect(Date.parse(b.expires!) - Date.parse(b.at!)).toBe(600_000);
    expect(b).toMatchObject({ by: 'f2bpyhost', jail: JAIL, count: 1 });
    // A record (its id names it: `-r0` + 32 hex), not the node hook (whose ids differ).
    expect(git(remote.bare, 'log', '-1', '--format=%B', 'main')).toMatch(/^Fail2git-Id: \d{13}-f2bpyhost-r0[0-9a-f]{32}$/m);
    expect(watcherPid(host)).not.toBeNull();
    await quiesce(host, 1500);
    // Nothing left behind in the spool: no record, no temp file.
    expect(readdirSync(host.spool).filter((n) => n !== 'refused' && n !== 'bad')).toEqual([]);
    expect(errors()).toEqual([]);
  });

  it('a permanent ban (bantime -1) lands permanent', async () => {
    f2b.client('set', JAIL, 'bantime', '-1');
    try {
      f2b.client('set', JAIL, 'banip', '203.0.113.212');
      await waitFor('permanent ban on remote', () => banned('203.0.113.212') !== undefined, 60_000);
      expect(banned('203.0.113.212')!.expires).toBeUndefined();
    } finally {
      f2b.client('set', JAIL, 'bantime', '600');
    }
    await quiesce(host, 1500);
  });

  it('manual `unbanip` before expiry → an unban commit', async () => {
    await quiesce(host, 1500);
    const before = commitCount(remote.bare);
    f2b.client('set', JAIL, 'unbanip', '203.0.113.211');
    await waitFor('unban on remote', () => banned('203.0.113.211') === undefined, 60_000);
    expect(commitCount(remote.bare)).toBe(before + 1);
    expect(banned('203.0.113.212')).toBeDefined();
  });

  it('stop → no unban; a restart restores the bans and writes nothing for them; `unbanip` of a restored ban still reaches the ledger', async () => {
    await quiesce(host, 1500);
    expect(errors()).toEqual([]);
    const before = commitCount(remote.bare);
    f2b.stop();
    await quiesce(host, 1500);
    expect(commitCount(remote.bare)).toBe(before);
    // From here on no flusher can start (a fail2git that is not there): whatever the action writes stays in the spool.
    await stopWatchers();
    const jailConf = join(f2b.conf, 'jail.conf');
    writeFileSync(jailConf, readFileSync(jailConf, 'utf8').replace(/fail2git="[^"]*"/, 'fail2git=/nonexistent/fail2git'));
    f2b.start();
    await waitFor('bans restored', () => /Restore Ban 203\.0\.113\.212/.test(f2b.serverLog()), 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(spooled(host)).toEqual([]);
    // fail2ban runs a Python action's unban for a restored ticket too: the record is written at once.
    f2b.client('set', JAIL, 'unbanip', '203.0.113.212');
    expect(spooled(host)).toEqual([expect.stringMatching(/^[0-9a-f]{32}\.f2b$/)]);
    expect(f2b.serverLog()).toMatch(/fail2git: cannot start the resident flusher/);
    expect((await cli(['flush', '--config', host.config])).code).toBe(0);
    expect(banned('203.0.113.212')).toBeUndefined();
  });
});
