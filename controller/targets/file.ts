/**
 * `file` driver: a plain list of bans (`txt` or `json`) for pfSense / OPNsense URL table
 * aliases or a web server to serve. It owns the whole file. Writes are atomic (temp file in
 * the same directory, fsync, rename, fsync of the directory), so a reader never sees half a
 * list, and a crash leaves either the old list or the new one.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../lib/files.js';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { guarded } from './utils/failure.js';
import { FILE_FORMATS, parseList, renderList, type FileFormat } from './file-format.js';
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
  let problems: string[] = [];

  const read = async (): Promise<{ text: string | undefined; entries: DesiredEntry[] }> => {
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined; // no file yet: it holds nothing
      throw err;
    });
    const parsed = parseList(text ?? '', format);
    problems = parsed.problems;
    return { text, entries: parsed.entries };
  };

  return {
    name,
    driver: DRIVER,
    observe: () => step(`reading ${path}`, async () => (await read()).entries.map((e) => ({ cidr: e.cidr, family: e.family }))),
    capacity: () => maxEntries,
    warnings: () => problems.slice(0, 5).map((p) => `${path}: ${p} (dropped on the next write)`),
    apply: (plan: Plan) => step(`writing ${path}`, async () => {
      const { text, entries } = await read();
      const next = new Map(entries.map((e) => [e.cidr, e]));
      for (const e of plan.remove) next.delete(e.cidr);
      for (const e of plan.add) next.set(e.cidr, { ...next.get(e.cidr), ...e });
      const content = renderList([...next.values()], format);
      if (content !== text) await writeFileAtomic(path, content, { mkdir: true, keepMode: true, exactMode: true, durable: true });
      return { added: plan.add.length, removed: plan.remove.length };
    }),
  } satisfies Target;
};

// --- Internal helpers ---

