/**
 * The writer protocol against real git: a change lands on top of the remote tip, racing
 * writers both land (the loser re-applies on the new tip), and failures are typed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backoffDelay, commitAndPush, readAt, recentCommits, type WriterRepo } from '../../../controller/git/commit.js';
import { TransientError } from '../../../controller/lib/errors.js';
import { execRunner, type Runner } from '../../../controller/lib/exec.js';
import { git, makeLedgerRemote } from '../../helpers/git.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

const author = { name: 'web1', email: 'fail2git@web1' };

function writer(remote: string, name = 'w'): WriterRepo {
  return { dir: join(tmpDir('f2g-writer'), `${name}.git`), remote, branch: 'main' };
}

/** Appends a line to notes.txt at whatever the tip holds (a re-applied change, not a patch). */
function appendLine(line: string) {
  return ({ files }: { files: Record<string, string | null> }) => ({
    files: { 'notes.txt': (files['notes.txt'] ?? '') + line + '\n' },
    message: `add ${line}\n`,
  });
}

describe('commitAndPush', () => {
  it('commits on top of the remote tip with the given author and only the given files', async () => {
    const remote = makeLedgerRemote({ 'notes.txt': 'seed\n', 'other.txt': 'keep\n' });
    const res = await commitAndPush(writer(remote.bare), { author, paths: ['notes.txt'], mutate: appendLine('one') });
    expect(res.commit).toBe(remote.head());
    expect(git(remote.bare, 'show', 'main:notes.txt')).toBe('seed\none');
    expect(git(remote.bare, 'show', 'main:other.txt')).toBe('keep');
    expect(git(remote.bare, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%P', 'main')).toBe(`web1 <fail2git@web1>|web1 <fail2git@web1>|${res.tip}`);
  });

  it('never dates a commit before its parent: a writer whose clock is behind the last writer uses the parent\'s time', async () => {
    const remote = makeLedgerRemote({ 'notes.txt': 'seed\n' });
    const ahead = Math.floor(Date.now() / 1000) + 3600; // the last writer's clock was an hour fast
    execFileSync('git', ['commit', '-q', '--allow-empty', '-m', 'from the future'], { cwd: remote.work, env: { ...process.env, GIT_COMMITTER_DATE: `${ahead} +0000` } });
    execFileSync('git', ['push', '-q', 'origin', 'main'], { cwd: remote.work });
    const res = await commitAndPush(writer(remote.bare), { author, paths: ['notes.txt'], mutate: appendLine('late') });
    expect(Number(git(remote.bare, 'log', '-1', '--format=%ct', res.commit!))).toBe(ahead);
    // And so does the next one, until our clock passes the parent's.
    const next = await commitAndPush(writer(remote.bare, 'w2'), { author, paths: ['notes.txt'], mutate: appendLine('now') });
    expect(Number(git(remote.bare, 'log', '-1', '--format=%ct', next.commit!))).toBe(ahead);
  });

  it('two writers racing: both changes land, the loser re-applies on the new tip', async () => {
    const remote = makeLedgerRemote({ 'notes.txt': 'seed\n' });
    const a = writer(remote.bare, 'a');
    const b = writer(remote.bare, 'b');
    // b commits while a is between fetch and push: a's first push is rejected.
    let first = true;
    const resA = await commitAndPush(a, {
      author, paths: ['notes.txt'], backoffMs: 10,
      async mutate(snap) {
        if (first) {
          first = false;
          await commitAndPush(b, { author, paths: ['notes.txt'], mutate: appendLine('from-b') });
        }
        return appendLine('from-a')(snap);
      },
    });
    expect(resA.attempts).toBe(2);
    expect(git(remote.bare, 'show', 'main:notes.txt').split('\n').sort()).toEqual(['from-a', 'from-b', 'seed']);
    expect(Number(git(remote.bare, 'rev-list', '--count', 'main'))).toBe(3);
  });

  it('many concurrent writers all land exactly once', async () => {
    const remote = makeLedgerRemote({ 'notes.txt': '' });
    await Promise.all(Array.from({ length: 6 }, (_, i) =>
      commitAndPush(writer(remote.bare, `c${i}`), { author, paths: ['notes.txt'], backoffMs: 20, maxAttempts: 30, mutate: appendLine(`w${i}`) })));
    const lines = git(remote.bare, 'show', 'main:notes.txt').split('\n').sort();
    expect(lines).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5']);
  });

  it('nothing to commit: no commit, remote unchanged', async () => {
    const remote = makeLedgerRemote({ 'notes.txt': 'same\n' });
    const before = remote.head();
    const w = writer(remote.bare);
    expect((await commitAndPush(w, { author, paths: ['notes.txt'], mutate: () => null })).commit).toBeNull();
    expect((await commitAndPush(w, { author, paths: ['notes.txt'], mutate: ({ files }) => ({ files: { 'notes.txt': files['notes.txt']! }, message: 'x\n' }) })).commit).toBeNull();
    expect(remote.head()).toBe(before);
  });

  it('an unreachable remote is a TransientError with one line naming the remote', async () => {
    const missing = join(tmpDir('f2g-gone'), 'gone.git');
    const err = await commitAndPush(writer(missing), { author, paths: ['notes.txt'], mutate: appendLine('x') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).code).toBe('E_REMOTE_UNREACHABLE');
    expect((err as Error).message).toContain(missing);
    expect((err as Error).message).not.toContain('\n');
  });

  it('readAt returns multi-byte content intact and null for missing files', async () => {
    const remote = makeLedgerRemote({ 'a.txt': 'héllo ✓\n', 'b.txt': 'two\n' });
    const w = writer(remote.bare);
    await commitAndPush(w, { author, paths: [], mutate: () => null });
    const files = await readAt(w, remote.head(), ['a.txt', 'missing.txt', 'b.txt']);
    expect(files).toEqual({ 'a.txt': 'héllo ✓\n', 'missing.txt': null, 'b.txt': 'two\n' });
  });

  it('signs commits with the host key when signingKey is set (SSH signature, committer = host)', async () => {
    const remote = makeLedgerRemote({ 'notes.txt': '' });
    const dir = tmpDir('f2g-key');
    const key = join(dir, 'key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key, '-C', 'web1']);
    writeFileSync(join(dir, 'allowed'), `fail2git@web1 ${readFileSync(`${key}.pub`, 'utf8')}`);
    await commitAndPush(writer(remote.bare), { author, signingKey: key, paths: ['notes.txt'], mutate: appendLine('signed') });
    const sig = git(remote.bare, '-c', `gpg.ssh.allowedSignersFile=${join(dir, 'allowed')}`, 'log', '-1', '--format=%G? %GS %ce', 'main');
    expect(sig).toBe('G fail2git@web1 fail2git@web1');
  });

  it('recentCommits gives every commit since a time with its author\'s email and whole message, newest first', async () => {
    const remote = makeLedgerRemote({ 'notes.txt': 'seed\n' });
    const w = writer(remote.bare);
    await commitAndPush(w, { author, paths: ['notes.txt'], mutate: () => ({ files: { 'notes.txt': 'one\n' }, message: 'one\n\nFail2git-Id: 1-web1-a\n' }) });
    const res = await commitAndPush(w, { author: { name: 'db1', email: 'fail2git@db1' }, paths: ['notes.txt'], mutate: () => ({ files: { 'notes.txt': 'two\n' }, message: 'two\n' }) });
    const log = await recentCommits(w, res.commit!, new Date(Date.now() - 3_600_000));
    expect(log.slice(0, 2)).toEqual([{ id: res.commit, email: 'fail2git@db1', body: 'two\n' }, { id: expect.stringMatching(/^[0-9a-f]{40}$/), email: 'fail2git@web1', body: 'one\n\nFail2git-Id: 1-web1-a\n' }]);
    expect(await recentCommits(w, res.commit!, new Date(Date.now() + 3_600_000))).toEqual([]);
  });

  it('writes the commit git\'s plumbing would (same id, fsck --strict clean) with no git process per object, new entries in git\'s order', async () => {
    const remote = makeLedgerRemote({ 'bans/active.yaml': 'seed\n', 'bans/policy.yaml': 'p\n', 'bans.txt': 'x\n', 'z.txt': 'z\n', 'README.md': 'r\n' });
    const calls: string[] = [];
    const run: Runner = (cmd, args, o) => {
      calls.push(args.find((a, i) => i > 1 && !a.startsWith('-')) ?? '');
      return execRunner(cmd, args, o);
    };
    const w = { ...writer(remote.bare), run };
    const res = await commitAndPush(w, {
      author, paths: ['bans/active.yaml', 'bans/allow.yaml', 'm.txt'],
      mutate: () => ({ files: { 'bans/active.yaml': 'héllo ✓\n', 'bans/allow.yaml': 'new in bans/\n', 'm.txt': 'new at the root\n' }, message: 'direct ✓\n\nFail2git-Op: ban\n' }),
    });
    expect(calls).not.toContain('hash-object');
    expect(calls).not.toContain('commit-tree');
    expect(calls).not.toContain('read-tree');
    expect(git(remote.bare, 'show', 'main:bans/active.yaml')).toBe('héllo ✓');
    expect(git(remote.bare, 'show', 'main:bans/allow.yaml')).toBe('new in bans/');
    expect(git(remote.bare, 'show', 'main:m.txt')).toBe('new at the root');
    expect(git(remote.bare, 'show', 'main:bans.txt')).toBe('x');
    expect(git(remote.bare, 'show', 'main:bans/policy.yaml')).toBe('p');
    execFileSync('git', ['-C', w.dir, 'fsck', '--strict', '--no-dangling'], { stdio: 'pipe' });
    execFileSync('git', ['-C', remote.bare, 'fsck', '--strict', '--no-dangling'], { stdio: 'pipe' });
    // The same tree and commit git itself makes from the same content, dates and message.
    const info = git(remote.bare, 'log', '-1', '--format=%T|%P|%ad|%cd', '--date=raw', 'main').split('|');
    const index = join(tmpDir('f2g-index'), 'index');
    const env = { ...process.env, GIT_INDEX_FILE: index };
    execFileSync('git', ['-C', remote.bare, 'read-tree', res.tip], { env });
    const blob = (path: string) => execFileSync('git', ['-C', remote.bare, 'rev-parse', `main:${path}`], { encoding: 'utf8' }).trim();
    execFileSync('git', ['-C', remote.bare, 'update-index', '--add', '--index-info'], { env, input: ['bans/active.yaml', 'bans/allow.yaml', 'm.txt'].map((p) => `100644 ${blob(p)}\t${p}`).join('\n') + '\n' });
    expect(execFileSync('git', ['-C', remote.bare, 'write-tree'], { env, encoding: 'utf8' }).trim()).toBe(info[0]);
    const who = { GIT_AUTHOR_NAME: 'web1', GIT_AUTHOR_EMAIL: 'fail2git@web1', GIT_COMMITTER_NAME: 'web1', GIT_COMMITTER_EMAIL: 'fail2git@web1', GIT_AUTHOR_DATE: info[2], GIT_COMMITTER_DATE: info[3] };
    const again = execFileSync('git', ['-C', remote.bare, 'commit-tree', info[0]!, '-p', info[1]!, '-F', '-'], { env: { ...process.env, ...who }, input: 'direct ✓\n\nFail2git-Op: ban\n', encoding: 'utf8' }).trim();
    expect(again).toBe(res.commit);
  });

  it('backoff is jittered and capped', () => {
    expect(backoffDelay(1, 100, () => 1)).toBe(200);
    expect(backoffDelay(10, 100, () => 1)).toBe(2000);
    expect(backoffDelay(3, 100, () => 0)).toBe(0);
  });
});
