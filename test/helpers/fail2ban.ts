/**
 * The real fail2ban-server for tests: a temporary config dir (fail2ban.conf, a one-line
 * filter, a dummy local action that touches nothing, the shipped fail2git actions copied
 * unchanged: fail2git.conf and fail2git.py), socket, pidfile, database and a log file fail2ban polls.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './git.js';
import { settled, waitFor, type TestHost } from './hook-host.js';
import { CLI } from './cli.js';
import { tmpDir } from './tmp.js';

export function have(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** fail2ban-server and fail2ban-client are here; throws when CI=true and they are not. */
export function fail2banAvailable(): boolean {
  const ok = have('fail2ban-server') && have('fail2ban-client');
  if (!ok && process.env.CI === 'true') throw new Error('fail2ban-server/fail2ban-client missing (apt-get install fail2ban); required when CI=true');
  return ok;
}

export interface Fail2ban {
  /** run dir: socket, pid, database, fail2ban.log, auth.log */
  dir: string;
  /** the config dir (-c) */
  conf: string;
  /** the log file the jail watches */
  log: string;
  jail: string;
  client(...args: string[]): string;
  /** addresses the local (dummy) action banned, in order */
  localBans(): string[];
  /** `fail2ban-client -c … -s … -p …` as one line, for host configs that call it */
  clientCommand: string;
  start(): void;
  stop(): void;
  serverLog(): string;
}

export interface Fail2banOptions {
  jail?: string;
  /** the jail's bantime (default 600) */
  bantime?: string;
  /** more `key = value` lines for the jail section */
  jailLines?: string[];
  /** set [DEFAULT] ignorecommand/ignorecache as docs/fail2ban.md says (the ledger's allowlist) */
  ignore?: boolean;
  /** which shipped action the jail uses: the shell action `fail2git.conf` (default) or the in-process `fail2git.py` */
  action?: 'conf' | 'py';
}

/** The Python that runs fail2ban-server (its `#!` line): the one its in-process actions run in. */
export function fail2banPython(): string {
  const server = execFileSync('sh', ['-c', 'command -v fail2ban-server'], { encoding: 'utf8' }).trim();
  const first = readFileSync(server, 'utf8').split('\n', 1)[0]!;
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
  if (!m) return 'python3';
  return m[1]!.endsWith('/env') && m[2] ? m[2] : m[1]!;
}

export function setUpFail2ban(host: TestHost, opts: Fail2banOptions = {}): Fail2ban {
  const jail = opts.jail ?? 'f2gtest';
  const dir = tmpDir('f2g-f2b');
  const conf = join(dir, 'conf');
  const run = join(dir, 'run');
  mkdirSync(join(conf, 'action.d'), { recursive: true });
  mkdirSync(join(conf, 'filter.d'), { recursive: true });
  mkdirSync(join(conf, 'jail.d'), { recursive: true });
  mkdirSync(run);
  const log = join(run, 'auth.log');
  writeFileSync(log, '');
  writeFileSync(join(conf, 'fail2ban.conf'), [
    '[Definition]', 'loglevel = INFO', `logtarget = ${join(run, 'fail2ban.log')}`, 'syslogsocket = auto', 'allowipv6 = auto',
    `socket = ${join(run, 'f2b.sock')}`, `pidfile = ${join(run, 'f2b.pid')}`, `dbfile = ${join(run, 'f2b.sqlite3')}`, 'dbpurgeage = 1d', '',
  ].join('\n'));
  writeFileSync(join(conf, 'filter.d', 'f2gtest.conf'), '[Definition]\nfailregex = ^FAIL login from <HOST>$\ndatepattern = {NONE}\n');
  // The local ban action: records the address in run/local-bans, so the host's firewall is never touched.
  const localBans = join(run, 'local-bans');
  writeFileSync(localBans, '');
  writeFileSync(join(conf, 'action.d', 'dummy.conf'), `[Definition]\nactionstart =\nactionstop =\nactioncheck =\nactionban = echo <ip> >> ${localBans}\nactionunban = true\n`);
  copyFileSync(join(REPO_ROOT, 'hooks', 'fail2ban', 'fail2git.conf'), join(conf, 'action.d', 'fail2git.conf'));
  copyFileSync(join(REPO_ROOT, 'hooks', 'fail2ban', 'fail2git.py'), join(conf, 'action.d', 'fail2git.py'));
  // What `fail2git flush` makes at install (README): the spool the action line writes into.
  mkdirSync(host.spool, { recursive: true });
  writeFileSync(join(conf, 'jail.conf'), [
    '[DEFAULT]', 'backend = polling',
    ...(opts.ignore ? [
      `ignorecommand = ${process.execPath} ${CLI} hook ignore --ip=<ip> --config=${host.config}`,
      'ignorecache = key="<ip>", max-count=10000, max-time=60',
    ] : []),
    '',
    `[${jail}]`, 'enabled = true', 'filter = f2gtest', `logpath = ${log}`, 'maxretry = 1', 'findtime = 600', `bantime = ${opts.bantime ?? '600'}`,
    ...(opts.jailLines ?? []),
    'action = dummy',
    `         fail2git${opts.action === 'py' ? '.py' : ''}[fail2git="${process.execPath} ${CLI}", config=${host.config}]`, '',
  ].join('\n'));
  const base = ['-c', conf, '-s', join(run, 'f2b.sock'), '-p', join(run, 'f2b.pid')];
  const client = (...args: string[]) => execFileSync('fail2ban-client', [...base, ...args], { encoding: 'utf8', timeout: 60_000 });
  return {
    dir: run,
    conf,
    log,
    jail,
    client,
    clientCommand: ['fail2ban-client', ...base].join(' '),
    localBans: () => readFileSync(localBans, 'utf8').split('\n').filter(Boolean),
    start: () => void client('-x', 'start'),
    stop: () => {
      if (existsSync(join(run, 'f2b.sock'))) client('stop');
    },
    serverLog: () => {
      try {
        return readFileSync(join(run, 'fail2ban.log'), 'utf8');
      } catch {
        return '';
      }
    },
  };
}

/** Waits for fail2ban to have run our action for everything so far (`ms`), and the flusher to finish. */
export async function quiesce(host: TestHost, ms = 2500): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  await waitFor('flusher done', () => settled(host), 60_000);
}
