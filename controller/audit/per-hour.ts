/**
 * Bans and unbans per hour, from the trailers of the ledger's commits (./log.ts): what the
 * fleet page's chart draws. Counted by commit time; a hand edit without trailers (a merged
 * pull request) is not an operation and is not counted. Pure but for `readPerHour`.
 */
import { execRunner } from '../lib/exec.js';
import { LOG_FORMAT, parseLog, type LoggedCommit } from './log.js';

export interface HourBucket {
  /** start of the hour, ms since the epoch */
  start: number;
  bans: number;
  unbans: number;
  /** expired entries removed by gc */
  expired: number;
}

const HOUR = 3_600_000;
const BAN_OPS = new Set(['ban', 'prolong', 'extend']);
const EXPIRE_OPS = new Set(['expire', 'gc', 'gc-expire']);

/** `hours` buckets ending with the one holding `now`. Pure. */
export function perHour(commits: readonly LoggedCommit[], now: Date, hours: number): HourBucket[] {
  const last = Math.floor(now.getTime() / HOUR) * HOUR;
  const first = last - (hours - 1) * HOUR;
  const buckets: HourBucket[] = Array.from({ length: hours }, (_, i) => ({ start: first + i * HOUR, bans: 0, unbans: 0, expired: 0 }));
  for (const c of commits) {
    const i = Math.floor((c.time - first) / HOUR);
    const b = buckets[i];
    if (!b) continue;
    for (const op of c.ops) {
      if (BAN_OPS.has(op.op)) b.bans++;
      else if (op.op === 'unban') b.unbans++;
      else if (EXPIRE_OPS.has(op.op)) b.expired++;
    }
  }
  return buckets;
}

/** Reads the commits of the last `hours` up to `rev` from a ledger repository. */
export async function readPerHour(repoDir: string, rev: string, now: Date, hours: number): Promise<HourBucket[]> {
  const since = Math.floor(now.getTime() / HOUR) * HOUR - (hours - 1) * HOUR;
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  const r = await execRunner('git', ['log', `--since=@${Math.floor(since / 1000)}`, `--format=${LOG_FORMAT}`, rev], { cwd: repoDir, env, timeoutMs: 60_000 });
  return perHour(parseLog(r.stdout), now, hours);
}
