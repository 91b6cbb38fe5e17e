/**
 * The real fail2ban-server with the fail2git action (hooks/fail2ban/fail2git.conf, copied
 * unchanged) next to a dummy local action: fail2ban never touches the host firewall here.
 * Temp config dir, socket, pidfile, database and a polled log file; a real bare remote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLedgerRemote, REPO_ROOT, type LedgerRemote } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { CLI, commitCount, makeHost, remoteBans, settled, waitFor, type TestHost } from '../helpers/hook-fixture.js';

function have(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const available = have('fail2ban-server') && have('fail2ban-client');
if (!available && process.env.CI === 'true') throw new Error('fail2ban-server/fail2ban-client missing (apt-get install fail2ban); required when CI=true');

const JAIL = 'f2gtest';

interface Fail2ban {
  dir: string;
  log: string;
  client(...args: string[]): string;
  start(): void;
  stop(): void;
}

function setUpFail2ban(host: TestHost): Fail2ban {
  const dir = tmpDir('f2g-f2b');
  const conf = join(dir, 'conf');
  const run = join(dir, 'run');
  mkdirSync(join(conf, 'action.d'), { recursive: true });
  mkdirSync(join(conf, 'filter.d'), { recursive: true });
  mkdirSync(run);
  const log = join(run, 'auth.log');
  writeFileSync(log, '');
  writeFileSync(join(conf, 'fail2ban.conf'), [
    '[Definition]', 'loglevel = INFO', `logtarget = ${join(run, 'fail2ban.log')}`, 'syslogsocket = auto', 'allowipv6 = auto',
    `socket = ${join(run, 'f2b.sock')}`, `pidfile = ${join(run, 'f2b.pid')}`, `dbfile = ${join(run, 'f2b.sqlite3')}`, 'dbpurgeage = 1d', '',
  ].join('\n'));
  writeFileSync(join(conf, 'filter.d', 'f2gtest.conf'), '[Definition]\nfailregex = ^FAIL login from <HOST>$\ndatepattern = {NONE}\n');
  // The local ban action: does nothing, so the host's firewall is never touched.
  writeFileSync(join(conf, 'action.d', 'dummy.conf'), '[Definition]\nactionstart =\nactionstop =\nactioncheck =\nactionban = true\nactionunban = true\n');
  copyFileSync(join(REPO_ROOT, 'hooks', 'fail2ban', 'fail2git.conf'), join(conf, 'action.d', 'fail2git.conf'));
  writeFileSync(join(conf, 'jail.conf'), [
    '[DEFAULT]', 'backend = polling', '',
    `[${JAIL}]`, 'enabled = true', 'filter = f2gtest', `logpath = ${log}`, 'maxretry = 1', 'findtime = 600', 'bantime = 600',
    'action = dummy',
    `         fail2git[fail2git="${process.execPath} ${CLI}", config=${host.config}]`, '',
  ].join('\n'));
  const base = ['-c', conf, '-s', join(run, 'f2b.sock'), '-p', join(run, 'f2b.pid')];
  const client = (...args: string[]) => execFileSync('fail2ban-client', [...base, ...args], { encoding: 'utf8', timeout: 60_000 });
  return {
    dir: run,
    log,
    client,
    start: () => void client('-x', 'start'),
    stop: () => {
      if (existsSync(join(run, 'f2b.sock'))) client('stop');
    },
  };
}

function serverLog(f: Fail2ban): string {
  return readFileSync(join(f.dir, 'fail2ban.log'), 'utf8');
}

/** Waits for fail2ban to have run our action for everything so far, and the flusher to finish. */
async function quiesce(host: TestHost, ms = 2500): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  await waitFor('flusher done', () => settled(host), 60_000);
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

  afterAll(() => {
    try {
      f2b?.stop();
    } finally {
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
    f2b.client('set', JAIL, 'bantime', '2');
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
