/**
 * The local spool: one JSON file per pending operation in `stateDir/spool/`.
 *
 * Durability (DESIGN rule 1): an operation is written to a temp file, fsynced, renamed into
 * place and the directory fsynced before the hook returns, so a crash or power loss after
 * the hook exits cannot lose it and a reader never sees half a file. Files are deleted only
 * after the push containing them succeeded (see hooks/flush.ts).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirSync, writeFileAtomicSync } from '../controller/lib/files.js';
import type { Operation } from './operations.js';

const OP_FILE = /^[0-9]{13}-[A-Za-z0-9._-]+\.json$/;

/**
 * A new operation id: creation time first (so names sort by age), then host and a random
 * part. Uniqueness, not secrecy, is needed, so Math.random (node:crypto costs the hook
 * start-up time).
 */
export function newOpId(host: string, now = Date.now()): string {
  const rnd = Math.floor(Math.random() * 2 ** 40).toString(16).padStart(10, '0');
  return `${String(now).padStart(13, '0')}-${host}-${rnd}`;
}

/** When the operation was created (ms), from its id. */
export function opCreatedAt(id: string): number {
  return Number(id.slice(0, 13));
}

/** Writes one operation durably; returns its file. */
export function spoolOperation(spoolDir: string, op: Operation): string {
  mkdirSync(spoolDir, { recursive: true, mode: 0o750 });
  writeFileAtomicSync(join(spoolDir, `${op.id}.json`), JSON.stringify(op) + '\n', { mode: 0o640, durable: true });
  return join(spoolDir, `${op.id}.json`);
}

function isOperation(v: unknown): v is Operation {
  const o = v as Partial<Operation> | null;
  return (
    o !== null && typeof o === 'object' && o.v === 1 && typeof o.id === 'string' && typeof o.cidr === 'string' &&
    (o.op === 'ban' || o.op === 'unban' || o.op === 'prolong') && typeof o.at === 'string' && typeof o.by === 'string' &&
    typeof o.host === 'string'
  );
}

/**
 * Pending operations, oldest first. A file that is not an operation (written by hand,
 * or by a future version) is moved to `spool/bad/` so it neither blocks nor vanishes.
 */
export function listOperations(spoolDir: string): Operation[] {
  let names: string[];
  try {
    names = readdirSync(spoolDir).filter((n) => OP_FILE.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const ops: Operation[] = [];
  for (const name of names) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(join(spoolDir, name), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // delivered meanwhile
      parsed = undefined;
    }
    if (isOperation(parsed) && `${parsed.id}.json` === name) ops.push(parsed);
    else setAside(spoolDir, 'bad', name);
  }
  return ops;
}

/** Moves a spool file into a subdirectory (`bad`, `refused`), keeping it for people to read. */
export function setAside(spoolDir: string, sub: string, name: string): void {
  mkdirSync(join(spoolDir, sub), { recursive: true, mode: 0o750 });
  try {
    renameSync(join(spoolDir, name), join(spoolDir, sub, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Deletes delivered operations and makes the deletion durable. */
export function removeOperations(spoolDir: string, ids: Iterable<string>): void {
  let any = false;
  for (const id of ids) {
    try {
      unlinkSync(join(spoolDir, `${id}.json`));
      any = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (any) fsyncDirSync(spoolDir);
}
