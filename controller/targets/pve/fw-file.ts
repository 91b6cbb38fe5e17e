/**
 * Reading and atomically replacing a `.fw` file the way Proxmox's `file_set_contents`
 * does: `<file>.tmp.<pid>` in the same directory (O_EXCL), fsync, rename over the
 * target. pmxcfs implements rename, so every node sees either the old or the new file.
 */
import { readFile, unlink } from 'node:fs/promises';
import { TargetError } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/files.js';

/** The file's text, or '' when it does not exist yet. */
export async function readFwFile(path: string, target: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return '';
    throw new TargetError(target, 'E_PVE_READ', `${path}: cannot read (${code ?? 'error'})`, { cause: err });
  }
}

export async function writeFwFileAtomic(path: string, text: string, target: string): Promise<void> {
  const tmp = `${path}.tmp.${process.pid}`;
  // A leftover from a crashed run with the same pid would block O_EXCL forever; we hold the lock.
  await unlink(tmp).catch(() => undefined);
  try {
    await writeFileAtomic(path, text, { tmp, mode: 0o640, keepMode: true, durable: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'EFBIG' ? ' (pmxcfs 1 MiB file limit)' : code === 'EACCES' ? ' (no quorum, or not root?)' : '';
    throw new TargetError(target, 'E_PVE_WRITE', `${path}: cannot write (${code ?? 'error'})${hint}; the old file is unchanged`, { cause: err });
  }
}
