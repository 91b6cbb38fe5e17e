/**
 * `file` driver: a plain list of bans (`txt` or `json`) for pfSense / OPNsense URL table
 * aliases or a web server to serve. It owns the whole file, and so never takes over a file
 * holding anything but such a list (file-format.ts notOurList): a path that names someone
 * else's file fails this target with one line, and the file is left as it is. Writes are atomic (temp file in
 * the same directory, fsync, rename, fsync of the directory), so a reader never sees half a
 * list, and a crash leaves either the old list or the new one.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../lib/files.js';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { guarded } from './utils/failure.js';
import { FILE_FORMATS, readList, renderChanged, renderList, type FileFormat, type ReadList } from './file-format.js';
import { TargetError } from '../lib/errors.js';
import { MAX_ENTRIES, options } from './utils/options.js';
import type { DesiredEntry, Plan, Target, TargetFactory } from './types.js';

const DRIVER = 'file';

export interface FileOptions {
  /** absolute path of the list. @default "/var/lib/fail2git/<target name>.<format>" */
  path: string;
  /** @default "txt" */
  format: FileFormat;
  /** at most this many entries (a device that reads the list may have a small table); none by default */
  maxEntries?: number;
}

export function fileOptions(name: string, raw: Record<string, unknown>): FileOptions {
  const o = options(name, DRIVER, raw).only(['path', 'format', MAX_ENTRIES]);
  const maxEntries = o.maxEntries();
  const format = o.oneOf('format', FILE_FORMATS, 'txt');
  const path = o.string('path', `/var/lib/fail2git/${name}.${format}`);
  if (!isAbsolute(path) || path.endsWith('/')) throw o.error(`option path ${JSON.stringify(path)} must be an absolute file path`);
  return { path, format, ...(maxEntries !== undefined && { maxEntries }) };
}

export const createFile: TargetFactory = (name, raw) => {
  const { path, format, maxEntries } = fileOptions(name, raw);
  const step = <T>(doing: string, fn: () => Promise<T>) => guarded(name, DRIVER, doing, fn);
  /** the list is ours but not exactly what the driver writes for what it holds (unsorted, duplicates, blank lines) */
  let misshapen = false;
  /** the last text read and what it holds: apply re-reads the list observe just read, and a list read is pure in its text */
  let last: { text: string; list: ReadList } | undefined;

  const read = async (): Promise<{ text: string | undefined; entries: DesiredEntry[] }> => {
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined; // no file yet: it holds nothing
      if (err.code === 'EISDIR') {
        throw new TargetError(name, 'E_TARGET_SHAPE', `target ${JSON.stringify(name)} (file): ${path} is a directory, not a list; move it away or point option path at a file`);
      }
      throw err;
    });
    if (text === undefined) {
      misshapen = false;
      return { text, entries: [] };
    }
    const list = last !== undefined && last.text === text ? last.list : readList(text, format);
    last = { text, list };
    if (list.foreign !== undefined) {
      throw new TargetError(name, 'E_TARGET_FOREIGN_FILE', `target ${JSON.stringify(name)} (${DRIVER}): refusing to read or replace ${path}: ${list.foreign}, so fail2git did not write it; move the file away or point the target at another path`);
    }
    misshapen = !list.canonical;
    return { text, entries: list.entries };
  };

  return {
    name,
    driver: DRIVER,
    // txt entries are already bare {cidr, family}: a new array of them, not 100k copies
    observe: () => step(`reading ${path}`, async () => {
      const { entries } = await read();
      return format === 'txt' ? entries.slice() : entries.map((e) => ({ cidr: e.cidr, family: e.family }));
    }),
    capacity: () => maxEntries,
    // a list of ours edited by hand (unsorted, duplicated) is rewritten whole, even when its entries are right
    needsRepair: () => misshapen,
    apply: (plan: Plan) => step(`writing ${path}`, async () => {
      const { text, entries } = await read();
      // A list in the driver's own shape is changed in place; any other is rebuilt and sorted whole.
      const content = misshapen ? renderList(changed(entries, plan), format) : renderChanged(entries, plan, format);
      if (content !== text) await writeFileAtomic(path, content, { mkdir: true, keepMode: true, exactMode: true, durable: true });
      return { added: plan.add.length, removed: plan.remove.length };
    }),
  } satisfies Target;
};

// --- Internal helpers ---

/** The list's entries after a plan: removals, then additions merged over what is there. */
function changed(entries: readonly DesiredEntry[], plan: Plan): DesiredEntry[] {
  const next = new Map(entries.map((e) => [e.cidr, e]));
  for (const e of plan.remove) next.delete(e.cidr);
  for (const e of plan.add) next.set(e.cidr, { ...next.get(e.cidr), ...e });
  return [...next.values()];
}

