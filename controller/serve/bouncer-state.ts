/**
 * Each bouncer's pull state (./decisions.ts BouncerState), one file per key name under
 * `<stateDir>/serve/bouncers/`, written atomically and durably after every pull that
 * changed it: a restart of serve (or of the machine) resumes every bouncer where it was.
 * A torn or foreign file reads as "never pulled": the bouncer's next pull then answers as a
 * startup, which re-sends everything (never loses a ban).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../lib/files.js';
import type { BouncerState } from './decisions.js';

export function bouncerStatePath(stateDir: string, name: string): string {
  return join(stateDir, 'serve', 'bouncers', `${name}.json`);
}

export function readBouncerState(stateDir: string, name: string): BouncerState | undefined {
  try {
    const raw = JSON.parse(readFileSync(bouncerStatePath(stateDir, name), 'utf8')) as Partial<BouncerState>;
    if (raw.version !== 1 || typeof raw.nextId !== 'number' || !raw.delivered || typeof raw.delivered !== 'object') return undefined;
    return raw as BouncerState;
  } catch {
    return undefined;
  }
}

export function writeBouncerState(stateDir: string, name: string, state: BouncerState): void {
  writeFileAtomicSync(bouncerStatePath(stateDir, name), JSON.stringify(state), { mkdir: true, durable: true, mode: 0o600 });
}
