/**
 * Hosts for the fail2ban-side tests: a host config + state dir per simulated host, the hook's
 * arguments, waiting for the flusher, and reading the ledger back from the bare remote.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBanList } from '../../controller/ledger/banlist.js';
import type { BanEntry } from '../../controller/ledger/types.js';
import { git } from './git.js';
import { tmpDir } from './tmp.js';


export interface TestHost {
  name: string;
  config: string;
  stateDir: string;
  spool: string;
}

const made: TestHost[] = [];

/** Waits (bounded) for background flushers of every host made so far, before temp dirs go. */
export async function quietHosts(timeoutMs = 30_000): Promise<void> {
  await stopWatchers(timeoutMs);
  const deadline = Date.now() + timeoutMs;
  while (made.some((h) => existsSync(join(h.stateDir, 'flush.lock'))) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function makeHost(remote: string, name = 'web1'): TestHost {
  const dir = tmpDir(`f2g-host-${name}`);
  const stateDir = join(dir, 'state');
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `remote: ${remote}\nbranch: main\nhost: ${name}\nstateDir: ${stateDir}\n`);
  const host = { name, config, stateDir, spool: join(stateDir, 'spool') };
  made.push(host);
  return host;
}

export function setRemote(host: TestHost, remote: string): void {
  writeFileSync(host.config, `remote: ${remote}\nbranch: main\nhost: ${host.name}\nstateDir: ${host.stateDir}\n`);
}

export function hookArgs(host: TestHost, action: string, ip: string, extra: Record<string, string> = {}): string[] {
  const flags: Record<string, string> = { jail: 'sshd', ip, bantime: '3600', time: String(Math.floor(Date.now() / 1000)), ...extra };
  return ['hook', action, ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]), '--config', host.config];
}

/** Spooled operation files and hook records (pending), not counting set-aside ones. */
export function spooled(host: TestHost): string[] {
  if (!existsSync(host.spool)) return [];
  return readdirSync(host.spool).filter((n) => n.endsWith('.json') || n.endsWith('.f2b'));
}

/** The PID of the host's resident flusher (`flush --watch`), or null. */
export function watcherPid(host: TestHost): number | null {
  try {
    const pid = Number(readFileSync(join(host.stateDir, 'watch.lock'), 'utf8').split(' ')[0]);
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** Stops the resident flushers the action line started for the hosts made so far, each by its PID. */
export async function stopWatchers(timeoutMs = 30_000): Promise<void> {
  for (const h of made) {
    const pid = watcherPid(h);
    if (pid !== null) process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + timeoutMs;
  while (made.some((h) => watcherPid(h) !== null) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

export function remoteBans(bare: string, rev = 'main'): BanEntry[] {
  const parsed = parseBanList(git(bare, 'show', `${rev}:bans/active.yaml`));
  if (parsed.problems.length > 0) throw new Error(`remote ledger invalid: ${parsed.problems[0]!.message}`);
  return parsed.bans;
}

export function commitCount(bare: string): number {
  return Number(git(bare, 'rev-list', '--count', 'main'));
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when no flusher holds the host's lock and nothing is pending. */
export function settled(host: TestHost): boolean {
  return spooled(host).length === 0 && !existsSync(join(host.stateDir, 'flush.lock'));
}
