/**
 * The one atomic file writer: readers (a firewall polling a list, fail2ban's next hook, the
 * next run) see the old content or the new, never a mix. Write a temp file beside the target,
 * optionally fsync it, rename it over the target, optionally fsync the directory. On failure
 * the temp file is removed and the original error is thrown unchanged (its `code` and stack
 * are the cause the caller wraps: `new XError(code, '…', { cause: err })`).
 * A sync form for the hook and the per-run state files, an async form for the drivers and
 * the CLI. Imports nothing of ours (controller/lib/).
 *
 * A target that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO: what
 * people pass to `--out` or as a metrics file to mean "throw it away" or "show me") is
 * written through, never renamed over: a rename would replace the host's /dev/null with a
 * regular file, which every later `> /dev/null` appends to and every reader of /dev/null
 * (git's repack among them) then reads back. A directory stays an error (EISDIR).
 */
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync, type Stats } from 'node:fs';
import { mkdir, open, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** mode of a new file. @default 0o644 */
  mode?: number;
  /** keep the mode of the file being replaced (new files get `mode`) */
  keepMode?: boolean;
  /** set the mode exactly (the umask would narrow it) */
  exactMode?: boolean;
  /** fsync the file before the rename and the directory after it: for what must survive a power cut */
  durable?: boolean;
  /** create the parent directory first */
  mkdir?: boolean;
  /** the temp file's path (Proxmox wants `<file>.tmp.<pid>`); default a hidden, unique name beside the file */
  tmp?: string;
}

/** Whether `st` (of the target, links followed) is something to write into rather than replace. */
function isSpecial(st: Stats | undefined): boolean {
  return st !== undefined && !st.isFile() && !st.isDirectory();
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

let counter = 0;
function tmpPath(path: string, opts: AtomicWriteOptions): string {
  return opts.tmp ?? join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${(counter++).toString(36)}.tmp`);
}

// Some filesystems (pmxcfs, a few FUSE and network ones) refuse fsync on a directory; the
// rename is then as durable as that filesystem makes it, and that is not an error.
const DIR_SYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EPERM', 'EACCES', 'EISDIR', 'EBADF']);
const dirSyncUnsupported = (err: unknown): boolean => DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '');

/** Makes a rename in `dir` durable; see DIR_SYNC_UNSUPPORTED. */
export function fsyncDirSync(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    if (dirSyncUnsupported(err)) return;
    throw err;
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    if (!dirSyncUnsupported(err)) throw err;
  } finally {
    closeSync(fd);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch((err: unknown) => {
    if (dirSyncUnsupported(err)) return undefined;
    throw err;
  });
  if (!fh) return;
  try {
    await fh.sync();
  } catch (err) {
    if (!dirSyncUnsupported(err)) throw err;
  } finally {
    await fh.close();
  }
}

export function writeFileAtomicSync(path: string, text: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  if (opts.mkdir) mkdirSync(dirname(path), { recursive: true });
  const target = statOrUndefined(path);
  if (isSpecial(target)) return writeFileSync(path, text);
  const mode = opts.keepMode && target ? target.mode & 0o7777 : opts.mode ?? 0o644;
  const tmp = tmpPath(path, opts);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      if (typeof text === 'string') writeSync(fd, text);
      else writeSync(fd, text);
      if (opts.exactMode) fchmodSync(fd, mode);
      if (opts.durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
    throw err;
  }
  if (opts.durable) fsyncDirSync(dirname(path));
}

export async function writeFileAtomic(path: string, text: string, opts: AtomicWriteOptions = {}): Promise<void> {
  if (opts.mkdir) await mkdir(dirname(path), { recursive: true });
  const target = await stat(path).catch(() => undefined);
  if (isSpecial(target)) return writeFile(path, text, 'utf8');
  const mode = opts.keepMode && target ? target.mode & 0o7777 : opts.mode ?? 0o644;
  const tmp = tmpPath(path, opts);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(text, 'utf8');
      if (opts.exactMode) await fh.chmod(mode);
      if (opts.durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (opts.durable) await fsyncDir(dirname(path));
}
