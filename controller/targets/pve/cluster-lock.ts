/**
 * Proxmox's own cluster-wide lock for cluster.fw, taken the way pve-cluster's `$cfs_lock`
 * takes it: `mkdir <lockDir>/firewall-cluster` (mkdir is atomic across the cluster on
 * pmxcfs), retry until a deadline, and always `rmdir`. Holding it keeps the GUI/API from
 * rewriting the file between our read and our rename.
 */
import { mkdir, rmdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { TransientError } from '../../lib/errors.js';

export const PVE_LOCK_DIR = '/etc/pve/priv/lock';
export const LOCK_NAME = 'firewall-cluster';

export interface LockOptions {
  /** directory holding Proxmox lock dirs (default /etc/pve/priv/lock) */
  lockDir: string;
  /** give up after this long (Proxmox API uses 10 s) */
  timeoutMs: number;
  /** pause between attempts */
  retryMs?: number;
}

export async function withClusterLock<T>(opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const path = join(opts.lockDir, LOCK_NAME);
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    try {
      await mkdir(path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new TransientError('E_PVE_LOCK', `${path}: cannot take the cluster firewall lock (${(err as NodeJS.ErrnoException).code ?? 'error'}); is the cluster quorate?`, { cause: err });
      }
      if (Date.now() >= deadline) {
        throw new TransientError('E_PVE_LOCK_TIMEOUT', `${path}: cluster firewall lock still held after ${opts.timeoutMs} ms (someone is editing the firewall); will retry next run`);
      }
      // Same as Proxmox: utime(0,0) asks pmxcfs to drop the lock if it has expired (120 s).
      await utimes(path, 0, 0).catch(() => undefined);
      await new Promise((r) => setTimeout(r, opts.retryMs ?? 100));
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(path).catch(() => undefined);
  }
}
