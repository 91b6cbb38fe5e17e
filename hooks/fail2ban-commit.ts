/**
 * The fail2ban action entry point (`fail2git hook ban|unban|prolong|flush`).
 *
 * On fail2ban's critical path, so it does the least that keeps DESIGN rules 1 and 7: check
 * the input, decide (restored → skip, natural expiry → skip, allowlisted/too broad → refuse),
 * fsync the operation into the spool, start a detached flusher unless one is running, exit.
 * It never loads a YAML parser, a schema validator or git.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CidrError, cidrContains, parseCidr, widen, type Cidr } from '../controller/net/cidr.js';
import { spoolPath, type HostConfig } from '../controller/config/host-config.js';
import { formatTime } from '../controller/lib/duration.js';
import { InputError } from '../controller/lib/errors.js';
import type { Guard } from './guard-cache.js';
import { isStale, watchLockPath, watchStartPath } from '../controller/lib/lock.js';
import { refusal, type Operation } from './operations.js';
import { newOpId, recordRefused, spoolOperation, writeSpoolMetrics } from './spool.js';

export type HookAction = 'ban' | 'unban' | 'prolong';

/** The fail2ban tags the action file passes, validated. */
export interface HookArgs {
  action: HookAction;
  jail: string;
  /** canonical address */
  ip: string;
  /** seconds; -1 = permanent */
  bantime: number;
  /** ban time, seconds since the epoch */
  time: number;
  restored: boolean;
  bancount?: number;
  failures?: number;
}

export type HookDecision =
  | { kind: 'spool'; op: Operation }
  | { kind: 'skip'; why: string }
  | { kind: 'refuse'; why: string; op: Operation };

const JAIL = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,63}$/;
/** Decimal, optionally fractional or with an exponent: what Python prints for an int or a float. */
const NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** How far ahead of this host's clock fail2ban's `<time>` may be (clock skew between log and host). */
export const MAX_CLOCK_SKEW_S = 300;

function number(flag: string, raw: string | undefined): number {
  if (raw === undefined || raw === '') throw new InputError('E_HOOK_ARGS', `--${flag} is required`);
  const n = NUMBER.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n)) throw new InputError('E_HOOK_ARGS', `--${flag} ${JSON.stringify(raw.slice(0, 40))} is not a number`);
  return n;
}

function count(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^[0-9]{1,9}$/.test(raw)) throw new InputError('E_HOOK_ARGS', `--${flag} ${JSON.stringify(raw.slice(0, 40))} is not a count`);
  return Number(raw);
}

/** Pure: validates the raw flag values of a hook call. */
export function parseHookArgs(action: string | undefined, v: Record<string, string | undefined>, now = Date.now()): HookArgs {
  if (action !== 'ban' && action !== 'unban' && action !== 'prolong') {
    throw new InputError('E_HOOK_ARGS', `hook action must be ban, unban, prolong, ignore or flush, got ${JSON.stringify(action ?? '')}`);
  }
  const jail = v.jail;
  if (jail === undefined || !JAIL.test(jail)) throw new InputError('E_HOOK_ARGS', `--jail ${JSON.stringify(jail ?? '')} is not a jail name`);
  if (v.ip === undefined) throw new InputError('E_HOOK_ARGS', '--ip is required');
  let ip: string;
  try {
    ip = parseCidr(v.ip).key;
  } catch (err) {
    if (err instanceof CidrError) throw new InputError('E_HOOK_IP', `--ip: ${err.message}`);
    throw err;
  }
  const bantime = Math.round(number('bantime', v.bantime));
  if (bantime !== -1 && bantime <= 0) throw new InputError('E_HOOK_ARGS', `--bantime must be positive seconds or -1 (permanent), got ${v.bantime}`);
  const time = number('time', v.time);
  if (time <= 0) throw new InputError('E_HOOK_ARGS', `--time must be seconds since the epoch, got ${v.time}`);
  // A ban "starting" in the future would outlive its bantime by as much (and past year
  // 275760 there is no date at all): beyond a small clock skew it is refused.
  if (time > now / 1000 + MAX_CLOCK_SKEW_S) {
    throw new InputError('E_HOOK_TIME', `--time ${v.time} is more than ${MAX_CLOCK_SKEW_S} s ahead of this host's clock (${Math.floor(now / 1000)}); check the clocks`);
  }
  if (v.restored !== undefined && v.restored !== '' && v.restored !== '0' && v.restored !== '1') {
    throw new InputError('E_HOOK_ARGS', `--restored must be 0 or 1, got ${JSON.stringify(v.restored)}`);
  }
  const args: HookArgs = { action, jail, ip, bantime, time, restored: v.restored === '1' };
  const bancount = count('bancount', v.bancount);
  if (bancount !== undefined) args.bancount = bancount;
  const failures = count('failures', v.failures);
  if (failures !== undefined) args.failures = failures;
  return args;
}

/** Pure: what a hook call means. `now` in ms. */
export function decide(args: HookArgs, guard: Guard, host: string, now: number, id: string): HookDecision {
  // A restored ban (fail2ban restart) is already in the ledger; an unban is an unban either way.
  if (args.restored && args.action !== 'unban') {
    return { kind: 'skip', why: `restored ${args.action} of ${args.ip} not committed (fail2ban restart; the ledger already has it)` };
  }
  const at = formatTime(new Date(Math.floor(args.time) * 1000));
  const base: Operation = { v: 1, id, op: args.action, cidr: args.ip, widen: true, at, by: host, host, jail: args.jail };
  if (args.action === 'unban') {
    // fail2ban unbans at time + bantime; the ledger's expiry governs that moment everywhere.
    if (args.bantime >= 0 && (args.time + args.bantime) * 1000 <= now + 1000) {
      return { kind: 'skip', why: `unban of ${args.ip} at natural expiry: the TTL already governs` };
    }
    // An unban carries the time it was asked (fail2ban's <time> is the ban's): it lifts only
    // bans made before it (hooks/operations.ts applyUnban).
    return { kind: 'spool', op: { ...base, at: formatTime(new Date(now)) } };
  }
  const c = parseCidr(args.ip);
  const target = widen(c, c.family === 4 ? guard.banPrefix.ipv4 : guard.banPrefix.ipv6);
  const op: Operation = { ...base, ttl: args.bantime };
  const why = refusal(target, guard.allow, guard.broadestPrefix);
  if (why) return { kind: 'refuse', why: `refusing to ${args.action} ${args.ip} network-wide: ${why}`, op };
  if (args.action === 'ban') op.escalate = true;
  if (args.bancount !== undefined) op.bancount = args.bancount;
  if (args.failures !== undefined) op.failures = args.failures;
  return { kind: 'spool', op };
}

/** True when a live flusher holds the lock (it re-checks the spool before it exits). */
export function flusherRunning(lockFile: string, now = Date.now()): boolean {
  try {
    return !isStale(readFileSync(lockFile, 'utf8'), now, 10 * 60_000);
  } catch {
    return false;
  }
}

/** True when a live resident flusher holds its lock: it sees every new spool file at once. */
export function watcherRunning(stateDir: string, now = Date.now()): boolean {
  return flusherRunning(watchLockPath(stateDir), now);
}

/** True while a resident flusher someone started is still starting up (stateDir/watch.start holds a live PID). */
export function watcherStarting(stateDir: string): boolean {
  try {
    const pid = Number(readFileSync(watchStartPath(stateDir), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long a resident flusher started by a hook stays with nothing to do (the action line says the same). */
export const HOOK_WATCH_IDLE_S = 600;

/**
 * Starts a resident flusher (`fail2git flush --watch --idle-exit …`) detached, its log lines
 * appended to `stateDir/flush.log`: what the action line does when none runs.
 */
export async function spawnWatcher(cfg: Pick<HostConfig, 'path' | 'stateDir'>, cli = process.argv[1]): Promise<void> {
  if (!cli) return;
  const { spawn } = await import('node:child_process');
  const { mkdirSync, openSync, closeSync } = await import('node:fs');
  mkdirSync(cfg.stateDir, { recursive: true, mode: 0o750 });
  const logFd = openSync(join(cfg.stateDir, 'flush.log'), 'a', 0o640);
  try {
    const child = spawn(process.execPath, [cli, 'flush', '--watch', `--idle-exit=${HOOK_WATCH_IDLE_S}`, '--config', cfg.path], { detached: true, stdio: ['ignore', 'ignore', logFd] });
    child.on('error', () => { /* the next hook or reconcile run flushes */ });
    child.unref();
    // As the action line does: the bans arriving while it starts up start no second one.
    if (child.pid !== undefined) {
      try {
        writeFileSync(watchStartPath(cfg.stateDir), `${child.pid}\n`, { mode: 0o640 });
      } catch {
        /* advisory */
      }
    }
  } finally {
    closeSync(logFd);
  }
}

/** Starts `fail2git flush --background` detached: fail2ban does not wait for the push. */
export async function spawnFlusher(cfg: Pick<HostConfig, 'path'>, cli = process.argv[1]): Promise<void> {
  if (!cli) return;
  // Loaded only when needed: refusals and skips exit without paying for it.
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [cli, 'flush', '--background', '--config', cfg.path], { detached: true, stdio: 'ignore' });
  child.on('error', () => { /* the next hook or reconcile run flushes */ });
  child.unref();
}

/**
 * fail2ban's `ignorecommand`: the allow entry of the ledger's allowlist (as cached in
 * guard.json) that holds `ip`, or null. fail2ban then ignores the address in every jail
 * that sets it, so no local action bans it either. Pure.
 */
export function allowEntryFor(ip: string, guard: Pick<Guard, 'allow'>): Cidr | null {
  let c: Cidr;
  try {
    c = parseCidr(ip);
  } catch (err) {
    if (err instanceof CidrError) throw new InputError('E_HOOK_IP', `--ip: ${err.message}`);
    throw err;
  }
  return guard.allow.find((a) => cidrContains(a, c)) ?? null;
}

/**
 * Spools the operation (or not) and nudges a flusher; returns the decision for the caller
 * to report. A refusal is kept in spool/refused/ with its reason (never pushed).
 */
export async function runHook(args: HookArgs, cfg: HostConfig, guard: Guard, lockFile: string, now = Date.now()): Promise<HookDecision> {
  const decision = decide(args, guard, cfg.host, now, newOpId(cfg.host, now));
  if (decision.kind === 'refuse') {
    recordRefused(spoolPath(cfg), decision.op, decision.why);
    writeSpoolMetrics(spoolPath(cfg), cfg.metricsFile);
  }
  if (decision.kind !== 'spool') return decision;
  spoolOperation(spoolPath(cfg), decision.op);
  // A resident flusher sees the new file by itself.
  if (!watcherRunning(cfg.stateDir, now) && !flusherRunning(lockFile, now)) await spawnFlusher(cfg);
  return decision;
}
