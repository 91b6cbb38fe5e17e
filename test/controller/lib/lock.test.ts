import { afterAll, describe, it, expect } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isStale, tryLock, waitLock } from '../../../controller/lib/lock.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

function deadPid(): number {
  // A process that has exited: its pid is free (reuse within the test is vanishingly unlikely).
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('flush lock', () => {
  it('is exclusive while held and free after release', () => {
    const path = join(tmpDir('f2g-lock'), 'flush.lock');
    const a = tryLock(path)!;
    expect(a).not.toBeNull();
    expect(tryLock(path)).toBeNull();
    a.release();
    expect(existsSync(path)).toBe(false);
    const b = tryLock(path);
    expect(b).not.toBeNull();
    b!.release();
  });

  it('takes over a lock whose PID is dead', () => {
    const path = join(tmpDir('f2g-lock'), 'flush.lock');
    writeFileSync(path, `${deadPid()} ${Date.now()}\n`);
    const l = tryLock(path);
    expect(l).not.toBeNull();
    expect(readFileSync(path, 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    l!.release();
  });

  it('takes over a lock older than staleMs even if its PID lives', () => {
    const path = join(tmpDir('f2g-lock'), 'flush.lock');
    writeFileSync(path, `${process.ppid} ${Date.now() - 11 * 60_000}\n`);
    expect(tryLock(path)).not.toBeNull();
  });

  it('isStale: dead pid, old, garbage → stale; live and fresh → not', () => {
    const alive = (pid: number) => pid === 42;
    expect(isStale('42 1000\n', 2000, 60_000, alive)).toBe(false);
    expect(isStale('43 1000\n', 2000, 60_000, alive)).toBe(true);
    expect(isStale('42 1000\n', 100_000, 60_000, alive)).toBe(true);
    expect(isStale('garbage', 2000, 60_000, alive)).toBe(true);
  });

  it('waitLock waits for a release', async () => {
    const path = join(tmpDir('f2g-lock'), 'flush.lock');
    const a = tryLock(path)!;
    setTimeout(() => a.release(), 200);
    const b = await waitLock(path, 5_000);
    expect(b).not.toBeNull();
    b!.release();
  });

  it('refresh renews the timestamp so a long-running holder never looks stale', () => {
    const path = join(tmpDir('f2g-lock'), 'flush.lock');
    let clock = 1_000_000;
    const a = tryLock(path, { now: () => clock, staleMs: 60_000 })!;
    clock += 50_000;
    expect(a.refresh()).toBe(true);
    clock += 50_000; // 100 s after taking it, 50 s after the refresh
    expect(tryLock(path, { now: () => clock, staleMs: 60_000 })).toBeNull();
    a.release();
    expect(existsSync(path)).toBe(false);
  });

  it('release does not remove a lock someone else took over', () => {
    const path = join(tmpDir('f2g-lock'), 'flush.lock');
    const a = tryLock(path)!;
    writeFileSync(path, `${process.ppid} ${Date.now()}\n`);
    a.release();
    expect(existsSync(path)).toBe(true);
  });
});
