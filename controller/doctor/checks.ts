/**
 * The pure judgments of `fail2git doctor`: a check's shape and the rules for file modes
 * and clock skew. No I/O here; the probes answer facts, these decide ok or fail.
 */
import type { fileMode } from './probes.js';

/** `warn`: works, but weaker than it should be (exit 0, unlike `fail`). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

/** A Date header from a server we talk to, and our clock when we read it. */
export interface ClockSample {
  source: string;
  date: Date;
  at: Date;
}

/** Clock skew tolerated before expiries are visibly wrong across the fleet. */
export const MAX_SKEW_MS = 60_000;

export const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
export const fail = (name: string, detail: string): Check => ({ name, status: 'fail', detail });
export const skip = (name: string, detail: string): Check => ({ name, status: 'skip', detail });
export const warn = (name: string, detail: string): Check => ({ name, status: 'warn', detail });
const octal = (m: number) => '0' + m.toString(8).padStart(3, '0');

/**
 * Judges a file's mode. `private` (keys, tokens): owner only, as ssh-keygen and the pve-api
 * driver demand. `secret` (the config): not readable by everyone. `trust` (allowedSigners):
 * nobody but the owner may write it, or anyone could add a trusted key.
 */
export function judgeMode(name: string, path: string, kind: 'private' | 'secret' | 'trust', m: ReturnType<typeof fileMode>): Check {
  if ('error' in m) return fail(name, `${path}: cannot stat (${m.error})`);
  if (kind === 'private' && m.mode & 0o077) return fail(name, `${path} is readable by ${m.mode & 0o007 ? 'everyone' : 'its group'} (mode ${octal(m.mode)}); chmod 600`);
  if (m.mode & 0o022) return fail(name, `${path} is writable by group or others (mode ${octal(m.mode)}); chmod go-w`);
  if (kind === 'secret' && m.mode & 0o004) return fail(name, `${path} is readable by everyone (mode ${octal(m.mode)}); chmod o-rwx`);
  return ok(name, `${path} mode ${octal(m.mode)}`);
}

export function judgeClock(skewMs: number, source: string): Check {
  const s = Math.round(skewMs / 1000);
  const detail = `${s >= 0 ? '+' : ''}${s}s against ${source}`;
  return Math.abs(skewMs) <= MAX_SKEW_MS ? ok('clock', detail) : fail('clock', `${detail}: more than ${MAX_SKEW_MS / 1000}s off, expiries will be wrong; fix NTP`);
}

/** The worst skew among the samples decides. */
export function judgeClockSamples(samples: readonly ClockSample[]): Check | undefined {
  const worst = samples
    .map((d) => ({ source: d.source, skew: d.at.getTime() - d.date.getTime() }))
    .sort((a, b) => Math.abs(b.skew) - Math.abs(a.skew))[0];
  return worst ? judgeClock(worst.skew, worst.source) : undefined;
}

export function formatCheck(c: Check): string {
  return `${c.status.padEnd(4)}  ${c.name.padEnd(18)}  ${c.detail}`;
}
