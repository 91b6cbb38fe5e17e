import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileAtomic, writeFileAtomicSync } from '../../../controller/lib/files.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

describe.each([
  ['sync', async (p: string, t: string, o?: Parameters<typeof writeFileAtomicSync>[2]) => writeFileAtomicSync(p, t, o)],
  ['async', writeFileAtomic],
] as const)('atomic write (%s)', (_, write) => {
  it('replaces the whole content and leaves no temp file', async () => {
    const dir = tmpDir('f2g-files');
    const path = join(dir, 'sub', 'fail2git.prom');
    await write(path, 'a'.repeat(10_000), { mkdir: true });
    await write(path, 'short\n', { durable: true });
    expect(readFileSync(path, 'utf8')).toBe('short\n');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['fail2git.prom']);
  });

  it('writes through a target that is not a regular file (a FIFO, as /dev/null or /dev/stdout), never renames over it', async () => {
    const dir = tmpDir('f2g-files');
    const fifo = join(dir, 'out');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    const got: Buffer[] = [];
    reader.stdout.on('data', (d: Buffer) => got.push(d));
    const closed = new Promise<void>((r) => reader.on('close', () => r()));
    await write(fifo, 'through\n', { durable: true, keepMode: true });
    // A FIFO renamed over would leave cat waiting for a writer forever.
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000))]);
    reader.kill();
    expect(Buffer.concat(got).toString()).toBe('through\n');
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(dir)).toEqual(['out']);
  });

  it('gives a new file its mode, and keeps the mode of the file it replaces when asked', async () => {
    const dir = tmpDir('f2g-files');
    const path = join(dir, 'list.txt');
    await write(path, 'x\n', { mode: 0o600, exactMode: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    chmodSync(path, 0o640);
    await write(path, 'y\n', { keepMode: true, exactMode: true });
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });

  it('throws the filesystem error itself (the cause, with its code) and leaves nothing behind', async () => {
    const dir = tmpDir('f2g-files');
    const err = await Promise.resolve(write(join(dir, 'missing', 'x.txt'), 'x')).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'open' });
    mkdirSync(join(dir, 'taken'));
    writeFileSync(join(dir, 'taken', 'inner'), '');
    // renaming a file over a non-empty directory fails after the temp file was written
    const renameErr = await Promise.resolve(write(join(dir, 'taken'), 'x')).then(() => undefined, (e: unknown) => e);
    expect(renameErr).toMatchObject({ syscall: 'rename' });
    expect(readdirSync(dir).sort()).toEqual(['taken']);
  });

  it('uses the temp path it is given (Proxmox wants <file>.tmp.<pid>)', async () => {
    const dir = tmpDir('f2g-files');
    const path = join(dir, 'cluster.fw');
    await write(path, '[OPTIONS]\n', { tmp: `${path}.tmp.${process.pid}` });
    expect(readdirSync(dir)).toEqual(['cluster.fw']);
  });
});
