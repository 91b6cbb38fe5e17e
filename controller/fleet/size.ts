/**
 * How many hosts publish status to the ledger remote, as this host last counted them
 * (`<stateDir>/fleet-size.json`, written by ./remote.ts refreshFleetSize once an hour). The
 * heartbeat and the watch loop's idle polling stretch with it, so a large fleet costs the forge
 * a bounded number of requests per second (docs/scale.md). Reading it needs no network.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FLEET_SIZE_FILE = 'fleet-size.json';

export interface FleetSize {
  /** status refs on the remote when last counted */
  hosts: number;
  /** when they were counted (RFC 3339) */
  at: string;
}

/** The last count; undefined before the first one (or when the file is unreadable). */
export function readFleetSize(stateDir: string): FleetSize | undefined {
  try {
    const v = JSON.parse(readFileSync(join(stateDir, FLEET_SIZE_FILE), 'utf8')) as FleetSize;
    return Number.isSafeInteger(v.hosts) && v.hosts >= 0 && typeof v.at === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
