/**
 * When each host was first seen at each applied commit, as `serve` observes the fleet
 * (`<stateDir>/serve/fleet-seen.json`): the "since when" of a receipt. A status record
 * says only which commit a host enforces now; this file remembers when that changed. Kept
 * small: the last OBSERVED_PER_HOST commits of each host.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../lib/files.js';
import type { FleetHost } from './record.js';

export const OBSERVED_PER_HOST = 50;

/** host → the commits it was seen at, oldest first, with when each was first seen (RFC 3339) */
export type Observed = Record<string, { commit: string; firstSeen: string }[]>;

export function observedPath(stateDir: string): string {
  return join(stateDir, 'serve', 'fleet-seen.json');
}

export function readObserved(stateDir: string): Observed {
  try {
    const raw = JSON.parse(readFileSync(observedPath(stateDir), 'utf8')) as unknown;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
    const out: Observed = Object.create(null) as Observed;
    for (const [host, list] of Object.entries(raw as Record<string, unknown>)) {
      if (Array.isArray(list)) out[host] = list.filter((o): o is { commit: string; firstSeen: string } => typeof o?.commit === 'string' && typeof o?.firstSeen === 'string');
    }
    return out;
  } catch {
    return {};
  }
}

/** Adds each host's applied commit when it is new for that host; true when something changed. Pure on `observed`. */
export function observe(observed: Observed, hosts: readonly FleetHost[], now: Date): boolean {
  let changed = false;
  for (const h of hosts) {
    const commit = h.record?.appliedCommit;
    if (!commit) continue;
    const list = (observed[h.host] ??= []);
    if (list[list.length - 1]?.commit === commit) continue;
    list.push({ commit, firstSeen: now.toISOString() });
    if (list.length > OBSERVED_PER_HOST) list.splice(0, list.length - OBSERVED_PER_HOST);
    changed = true;
  }
  return changed;
}

export function writeObserved(stateDir: string, observed: Observed): void {
  writeFileAtomicSync(observedPath(stateDir), JSON.stringify(observed) + '\n', { mkdir: true });
}
