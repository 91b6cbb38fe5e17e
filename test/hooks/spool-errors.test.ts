/**
 * Errors a user or fail2ban can provoke on the hook path are one line each, and leave
 * nothing behind: a full disk (a tiny tmpfs mounted in a private mount namespace, so the
 * host's mounts are never touched), a `--time` past any date.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { hookArgs, makeHost } from '../helpers/hook-host.js';
import { CLI, cli } from '../helpers/cli.js';
import { have } from '../helpers/fail2ban.js';

function canUnshare(): boolean {
  if (!have('unshare')) return false;
  try {
    execFileSync('unshare', ['-m', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('unshare -m is required when CI=true (root, util-linux)');
    return false;
  }
}

afterAll(() => cleanupTmp());

describe.skipIf(!canUnshare())('a full spool disk', () => {
  it('ENOSPC: "spool full: cannot record ban of X", exit 1, no stack trace, no temp file left', () => {
    const dir = tmpDir('f2g-enospc');
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const stateDir = join(mnt, 'state');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `remote: ${join(dir, 'none.git')}\nbranch: main\nhost: fullhost\nstateDir: ${stateDir}\n`);
    const hook = [CLI, 'hook', 'ban', '--jail=sshd', '--ip=203.0.113.9', '--bantime=600', `--time=${Math.floor(Date.now() / 1000)}`, `--config=${config}`];
    // In a private mount namespace: a 64 KiB tmpfs holding the spool directory, filled up;
    // run the hook; print its exit code, then what the spool holds afterwards.
    // $0: where the hook's stderr goes; $1: the mount point; the rest: the hook command.
    const script = [
      'set -u', 'err="$0"; m="$1"; shift',
      'mount -t tmpfs -o size=64k f2gtest "$m"',
      'mkdir -p "$m/state/spool"',
      'dd if=/dev/zero of="$m/fill" bs=4k 2>/dev/null || true',
      '"$@" 2>"$err"; echo "exit=$?"',
      'ls -A "$m/state/spool" | tr "\\n" " "; echo',
    ].join('\n');
    const outText = execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, join(dir, 'hook.err'), mnt, process.execPath, ...hook], { encoding: 'utf8', timeout: 60_000 });
    const stderr = readFileSync(join(dir, 'hook.err'), 'utf8');
    expect(outText).toMatch(/^exit=1$/m);
    expect(stderr).toBe(`fail2git: spool full: cannot record ban of 203.0.113.9 (${join(stateDir, 'spool')}: no space left on device)\n`);
    const left = outText.split('\n')[1]!.trim();
    expect(left).toBe(''); // no .tmp- file, no operation
  });
});

describe('values past any date', () => {
  it('--time 9999999999999 is one line, exit 1, nothing spooled', async () => {
    const host = makeHost(join(tmpDir('f2g-none'), 'none.git'), 'timehost');
    const res = await cli(hookArgs(host, 'ban', '203.0.113.10', { time: '9999999999999' }));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^fail2git: --time 9999999999999 is more than 300 s ahead of this host's clock[^\n]*\n$/);
  });
});

describe('bad state locations fail at once', () => {
  it.each(['/proc/f2g-state', '/sys/f2g-state'])('hook ban with stateDir %s: one line within seconds, no spinning', async (stateDir) => {
    const dir = tmpDir('f2g-proc');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `remote: ${join(dir, 'none.git')}\nbranch: main\nhost: prochost\nstateDir: ${stateDir}\n`);
    const res = await cli(['hook', 'ban', '--jail=sshd', '--ip=203.0.113.11', '--bantime=600', `--time=${Math.floor(Date.now() / 1000)}`, `--config=${config}`], { timeoutMs: 10_000 });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`^fail2git: [^\\n]*stateDir ${stateDir} is under /(proc|sys), a kernel pseudo-filesystem[^\\n]*\\n$`));
  });

  it('a spool that is a file: the hook, flush and pending say so in one line', async () => {
    const host = makeHost(join(tmpDir('f2g-none'), 'none.git'), 'spoolfile');
    mkdirSync(host.stateDir, { recursive: true });
    writeFileSync(host.spool, 'not a directory');
    const hook = await cli(hookArgs(host, 'ban', '203.0.113.12'));
    expect(hook.code).toBe(1);
    expect(hook.stderr).toBe(`fail2git: cannot record ban of 203.0.113.12 in ${host.spool}: a file is in the way\n`);
    const pending = await cli(['pending', '--config', host.config]);
    expect(pending.code).toBe(1);
    expect(pending.stderr).toBe(`fail2git: cannot read the spool ${host.spool}: not a directory\n`);
    const flush = await cli(['flush', '--config', host.config]);
    expect(flush.code).toBe(1);
    expect(flush.stderr.trim().split('\n')).toHaveLength(1);
    expect(flush.stderr).toMatch(/not a directory/);
  });
});

