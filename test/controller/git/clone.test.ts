import { afterAll, describe, it, expect } from 'vitest';
import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkoutRev, DISK_CONFIG, ensureClone, ensureDiskConfig, localTip, lsRemoteTip, syncClone } from '../../../controller/git/clone.js';
import { execRunner, type Runner } from '../../../controller/lib/exec.js';
import { git, makeLedgerRemote, startGitDaemon } from '../../helpers/git.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

/** Records every git subcommand run, to check what a sync costs. */
function countingRunner(): Runner & { calls: string[] } {
  const calls: string[] = [];
  const run = ((cmd, args, opts) => {
    const i = args[0] === '-C' ? 2 : 0;
    calls.push(String(args[i]));
    return execRunner(cmd, args, opts);
  }) as Runner & { calls: string[] };
  run.calls = calls;
  return run;
}

describe('ensureClone', () => {
  it('clones on first use with the branch checked out, and is idempotent', async () => {
    const remote = makeLedgerRemote();
    const dir = join(tmpDir('f2g-clone'), 'state', 'ledger');
    await ensureClone(remote.bare, dir, 'main');
    expect(readFileSync(join(dir, 'bans', 'active.yaml'), 'utf8')).toContain('kind: BanList');
    expect(await localTip(dir, 'main')).toBe(remote.head());
    await ensureClone(remote.bare, dir, 'main');
    expect(await localTip(dir, 'main')).toBe(remote.head());
  });
  it('follows a changed remote URL from the config', async () => {
    const a = makeLedgerRemote();
    const b = makeLedgerRemote({ 'bans/active.yaml': 'apiVersion: fail2git/v1\nkind: BanList\nbans: []\n' });
    const dir = join(tmpDir('f2g-clone'), 'ledger');
    await ensureClone(a.bare, dir, 'main');
    await ensureClone(b.bare, dir, 'main');
    expect(git(dir, 'config', '--get', 'remote.origin.url')).toBe(b.bare);
    expect((await syncClone(b.bare, dir, 'main')).tip).toBe(b.head());
  });
  it('creates the clone even when the remote is unreachable; the next sync fetches', async () => {
    const dir = join(tmpDir('f2g-clone'), 'ledger');
    const missing = join(tmpDir('f2g-clone'), 'nope.git');
    await ensureClone(missing, dir, 'main');
    expect(existsSync(join(dir, '.git'))).toBe(true);
    const r = await syncClone(missing, dir, 'main');
    expect(r.tip).toBeUndefined();
    expect(r.error?.code).toBe('E_REMOTE_UNREACHABLE');
  });
});

describe('syncClone', () => {
  it('an unchanged tip costs one ls-remote and no fetch', async () => {
    const remote = makeLedgerRemote();
    const dir = join(tmpDir('f2g-clone'), 'ledger');
    await syncClone(remote.bare, dir, 'main');
    const run = countingRunner();
    const r = await syncClone(remote.bare, dir, 'main', run);
    expect(r).toEqual({ tip: remote.head(), fetched: false });
    expect(run.calls).not.toContain('fetch');
    expect(run.calls.filter((c) => c === 'ls-remote')).toHaveLength(1);
  });
  it('fetches the new tip, never merges, leaves the working tree alone', async () => {
    const remote = makeLedgerRemote();
    const dir = join(tmpDir('f2g-clone'), 'ledger');
    await syncClone(remote.bare, dir, 'main');
    const before = git(dir, 'rev-parse', 'HEAD');
    const tip = remote.commit({ 'bans/extra.txt': 'x\n' });
    const r = await syncClone(remote.bare, dir, 'main');
    expect(r).toEqual({ tip, fetched: true });
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(before);
    expect(existsSync(join(dir, 'bans', 'extra.txt'))).toBe(false);
  });
  it('takes a force-pushed (rewritten) tip as it is', async () => {
    const remote = makeLedgerRemote();
    const dir = join(tmpDir('f2g-clone'), 'ledger');
    remote.commit({ 'a.txt': '1\n' });
    await syncClone(remote.bare, dir, 'main');
    git(remote.work, 'reset', '-q', '--hard', 'HEAD~1');
    git(remote.work, 'commit', '-q', '--allow-empty', '-m', 'rewritten');
    git(remote.work, 'push', '-q', '--force', 'origin', 'main');
    expect((await syncClone(remote.bare, dir, 'main')).tip).toBe(remote.head());
  });
  it('remote gone: reports it and keeps the last fetched tip', async () => {
    const remote = makeLedgerRemote();
    const dir = join(tmpDir('f2g-clone'), 'ledger');
    const first = await syncClone(remote.bare, dir, 'main');
    renameSync(remote.bare, remote.bare + '.away');
    const r = await syncClone(remote.bare, dir, 'main');
    expect(r.tip).toBe(first.tip);
    expect(r.fetched).toBe(false);
    expect(r.error?.message).toMatch(/^git ls-remote failed: /);
    renameSync(remote.bare + '.away', remote.bare);
  });
  it('works over git:// on 127.0.0.1 (git daemon)', async () => {
    const remote = makeLedgerRemote();
    const daemon = await startGitDaemon(join(remote.bare, '..'));
    try {
      const url = daemon.url('ledger.git');
      const dir = join(tmpDir('f2g-clone'), 'ledger');
      expect((await syncClone(url, dir, 'main')).tip).toBe(remote.head());
      expect(await lsRemoteTip(dir, 'main')).toBe(remote.head());
      const tip = remote.commit({ 'b.txt': '2\n' });
      expect(await syncClone(url, dir, 'main')).toEqual({ tip, fetched: true });
    } finally {
      await daemon.stop();
    }
  });
  it('a branch the remote does not have is reported, not fatal', async () => {
    const remote = makeLedgerRemote();
    const dir = join(tmpDir('f2g-clone'), 'ledger');
    const r = await syncClone(remote.bare, dir, 'release');
    expect(r.tip).toBeUndefined();
    expect(r.error?.code).toBe('E_REMOTE_NO_BRANCH');
  });
});

describe('checkoutRev', () => {
  it('shows an accepted commit in the working tree', async () => {
    const remote = makeLedgerRemote();
    const dir = join(tmpDir('f2g-clone'), 'ledger');
    await syncClone(remote.bare, dir, 'main');
    const tip = remote.commit({ 'bans/extra.txt': 'x\n' });
    await syncClone(remote.bare, dir, 'main');
    await checkoutRev(dir, 'main', tip);
    expect(readFileSync(join(dir, 'bans', 'extra.txt'), 'utf8')).toBe('x\n');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(tip);
  });

  it("checks out the ledger's bytes exactly, whatever the ledger's .gitattributes says", async () => {
    const remote = makeLedgerRemote();
    const dir = join(tmpDir('f2g-clone'), 'ledger');
    await syncClone(remote.bare, dir, 'main');
    const yaml = readFileSync(join(remote.work, 'bans', 'active.yaml'), 'utf8');
    const tip = remote.commit({ '.gitattributes': 'bans/* text eol=crlf ident\n', 'bans/extra.txt': 'a\nb $Id$\n' });
    await syncClone(remote.bare, dir, 'main');
    await checkoutRev(dir, 'main', tip);
    expect(readFileSync(join(dir, 'bans', 'extra.txt'), 'utf8')).toBe('a\nb $Id$\n');
    expect(readFileSync(join(dir, 'bans', 'active.yaml'), 'utf8')).toBe(yaml);
  });
});

describe('bounded disk (issue 18)', () => {
  const countObjects = (gitDir: string) =>
    Object.fromEntries(git(gitDir, 'count-objects', '-v').split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)])) as Record<string, number>;

  it('keeps fetched ban commits packed, not loose, and repacks past 20 packs: the clone stays near the packed size', async () => {
    const line = (i: number) => `  - {cidr: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, expires: 2099-01-01T00:00:00Z, at: 2026-01-01T00:00:00Z, by: web${i % 7}, jail: sshd, count: 1}\n`;
    let text = 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n';
    for (let i = 0; i < 20_000; i++) text += line(i);
    const remote = makeLedgerRemote({ 'bans/active.yaml': text });
    const dir = join(tmpDir('f2g-clone-disk'), 'ledger');
    await syncClone(remote.bare, dir, 'main');
    expect(git(dir, 'config', '--get', 'fetch.unpackLimit')).toBe('1');
    for (let b = 0; b < 25; b++) {
      text += line(100_000 + b);
      remote.commit({ 'bans/active.yaml': text }, `ban ${b}`);
      const r = await syncClone(remote.bare, dir, 'main');
      expect(r.fetched).toBe(true);
    }
    const clone = countObjects(dir);
    expect(clone.count).toBe(0); // no loose objects (git's default would explode each small fetch)
    expect(clone.packs).toBeLessThanOrEqual(21);
    // the same history, fully packed, for scale
    git(remote.bare, 'gc', '-q');
    const packed = countObjects(remote.bare)['size-pack']!;
    expect(clone['size-pack']! + clone.size!).toBeLessThanOrEqual(packed * 25);
  }, 120_000);

  it('a clone made by an older fail2git gets the setting on its next sync, once', async () => {
    const remote = makeLedgerRemote();
    const dir = join(tmpDir('f2g-clone-disk'), 'ledger');
    git(tmpDir('f2g-clone-disk'), 'clone', '-q', remote.bare, dir);
    await syncClone(remote.bare, dir, 'main');
    await syncClone(remote.bare, dir, 'main');
    expect(git(dir, 'config', '--get-all', 'gc.autoPackLimit')).toBe('20');
  });
});

describe('ensureDiskConfig', () => {
  it('replaces the config whole (a new file renamed into place, its mode kept, no temp file left), so a crash never leaves git half a config', () => {
    const dir = tmpDir('f2g-clone');
    git(dir, 'init', '-q', '--bare', 'r.git');
    const config = join(dir, 'r.git', 'config');
    writeFileSync(config, readFileSync(config, 'utf8').trimEnd()); // no final newline
    chmodSync(config, 0o640);
    const before = readFileSync(config, 'utf8');
    const inode = statSync(config).ino;
    ensureDiskConfig(config);
    expect(statSync(config).ino).not.toBe(inode);
    expect(statSync(config).mode & 0o777).toBe(0o640);
    expect(readFileSync(config, 'utf8').startsWith(`${before}\n# fail2git: bounded disk\n`)).toBe(true);
    expect(readdirSync(join(dir, 'r.git')).filter((n) => n.includes('tmp'))).toEqual([]);
    for (const [section, key, value] of DISK_CONFIG) expect(git(join(dir, 'r.git'), 'config', '--get', `${section}.${key}`)).toBe(value);
    // once there, it is left alone
    const written = statSync(config).ino;
    ensureDiskConfig(config);
    expect(statSync(config).ino).toBe(written);
  });
});
