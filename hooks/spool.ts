/**
 * The local spool: one JSON file per pending operation in `stateDir/spool/`.
 *
 * Durability (DESIGN rule 1): an operation is written to a temp file, fsynced, renamed into
 * place and the directory fsynced before the hook returns, so a crash or power loss after
 * the hook exits cannot lose it and a reader never sees half a file. Files are deleted only
 * after the push containing them succeeded (see hooks/flush.ts).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Operation } from './operations.js';

const OP_FILE = /^[0-9]{13}-[A-Za-z0-9._-]+\.json$/;
/** An operation id made from a hook record (hooks/record.ts): creation ms, host, `r`, a rank, the record's hex. */
const RECORD_ID = /-r[0-2]([0-9a-f]{32})$/;

/** The spool file an operation lives in: `<id>.json`, or the hook record it was read from. */
export function opFileName(id: string): string {
  const m = RECORD_ID.exec(id);
  return m ? `${m[1]}.f2b` : `${id}.json`;
}

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

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeDurably(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.tmp-${name}`);
  const fd = openSync(tmp, 'w', 0o640);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  fsyncDir(dir);
}

/** Writes one operation durably; returns its file. */
export function spoolOperation(spoolDir: string, op: Operation): string {
  mkdirSync(spoolDir, { recursive: true, mode: 0o750 });
  writeDurably(spoolDir, `${op.id}.json`, JSON.stringify(op) + '\n');
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

/**
 * Keeps an operation the ledger refused in `spool/refused/<id>.json` (never committed, kept
 * for people to read) and takes it out of the pending ones.
 */
export function refuseOperation(spoolDir: string, op: Operation, why: string): void {
  const name = opFileName(op.id);
  if (name.endsWith('.json')) {
    setAside(spoolDir, 'refused', name);
    return;
  }
  mkdirSync(join(spoolDir, 'refused'), { recursive: true, mode: 0o750 });
  writeStateFile(join(spoolDir, 'refused', `${op.id}.json`), JSON.stringify({ ...op, refused: why }) + '\n');
  try {
    unlinkSync(join(spoolDir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Deletes delivered operations and makes the deletion durable. */
export function removeOperations(spoolDir: string, ids: Iterable<string>): void {
  let any = false;
  for (const id of ids) {
    try {
      unlinkSync(join(spoolDir, opFileName(id)));
      any = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (any) fsyncDir(spoolDir);
}

/** Writes a small state file atomically (status, guard cache); not fsynced: it is advisory. */
export function writeStateFile(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o640);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
