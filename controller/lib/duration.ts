/** Durations as people write them in policies and flags: `90s`, `15m`, `1h`, `7d`, `2w`, `1h30m`. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+)(ms|s|m|h|d|w)/y;

export class DurationError extends Error {
  readonly code = 'E_DURATION';
}

export function parseDuration(text: string): number {
  if (typeof text !== 'string' || text === '') throw new DurationError(`${JSON.stringify(text)} is not a duration (e.g. 30s, 15m, 1h, 7d)`);
  let ms = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) throw new DurationError(`${JSON.stringify(text)} is not a duration (e.g. 30s, 15m, 1h, 7d)`);
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
  }
  return ms;
}

/** Short human form: 3600000 → `1h`, 5400000 → `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, secs] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= secs) {
      parts.push(`${Math.floor(rest / secs)}${unit}`);
      rest %= secs;
    }
  }
  return parts.join('') || '0s';
}

/** RFC 3339 UTC with second precision, as the ledger stores times: `2026-11-22T09:00:00Z`. */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses RFC 3339 strictly (date, time and offset required); NaN-free or throws. */
export function parseTime(text: string): Date {
  const m = RFC3339.exec(text);
  const d = m ? new Date(text) : null;
  if (!m || !d || Number.isNaN(d.getTime())) {
    throw new DurationError(`${JSON.stringify(text)} is not an RFC 3339 time (e.g. 2026-11-22T09:00:00Z)`);
  }
  // Date accepts 2026-02-30; RFC 3339 does not.
  const [, y, mo, da, h, mi, s] = m;
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(da), Number(h), Number(mi), Number(s)));
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(da) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    throw new DurationError(`${JSON.stringify(text)} is not a valid calendar time`);
  }
  return d;
}
