/**
 * Real git for tests: bare remotes on disk, working clones, and `git daemon` on 127.0.0.1.
 * No network beyond loopback; every repository lives in a temp dir.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from './tmp.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface LedgerRemote {
  /** the bare repository (a path usable as a git URL) */
  bare: string;
  /** a working clone for the test to edit and push ("a person with a PR") */
  work: string;
  branch: string;
  /** write files relative to the work clone, commit, push; returns the new commit */
  commit(files: Record<string, string>, message?: string): string;
  head(): string;
}

/**
 * A bare ledger remote seeded with `files` (default: this repository's example `bans/`),
 * plus a working clone to make commits from.
 */
export function makeLedgerRemote(files?: Record<string, string>, branch = 'main'): LedgerRemote {
  const root = tmpDir('f2g-git');
  const bare = join(root, 'ledger.git');
  const work = join(root, 'work');
  git(root, 'init', '-q', '--bare', '-b', branch, bare);
  git(root, 'init', '-q', '-b', branch, work);
  if (files) {
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(work, rel)), { recursive: true });
      writeFileSync(join(work, rel), text);
    }
  } else {
    cpSync(join(REPO_ROOT, 'bans'), join(work, 'bans'), { recursive: true });
  }
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'seed ledger');
  git(work, 'remote', 'add', 'origin', bare);
  git(work, 'push', '-q', 'origin', branch);
  const remote: LedgerRemote = {
    bare,
    work,
    branch,
    commit(changes, message = 'test change') {
      git(work, 'pull', '-q', '--ff-only', 'origin', branch);
      for (const [rel, text] of Object.entries(changes)) {
        mkdirSync(dirname(join(work, rel)), { recursive: true });
        writeFileSync(join(work, rel), text);
      }
      git(work, 'add', '-A');
      git(work, 'commit', '-q', '--allow-empty', '-m', message);
      git(work, 'push', '-q', 'origin', branch);
      return git(work, 'rev-parse', 'HEAD');
    },
    head() {
      return git(bare, 'rev-parse', branch);
    },
  };
  return remote;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface GitDaemon {
  /** git:// URL of a repository under the base path, e.g. url('ledger.git') */
  url(repo: string): string;
  stop(): Promise<void>;
  port: number;
}

/** `git daemon` on 127.0.0.1 serving `basePath` (push enabled), on a free port. */
export async function startGitDaemon(basePath: string, opts: { readOnly?: boolean } = {}): Promise<GitDaemon> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'git',
    ['daemon', '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, `--base-path=${basePath}`, '--export-all', ...(opts.readOnly ? [] : ['--enable=receive-pack']), basePath],
    { stdio: 'ignore', env: GIT_ENV },
  );
  // Wait until it accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); res(true); });
      s.on('error', () => res(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('git daemon did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: (repo) => `git://127.0.0.1:${port}/${repo}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface StalledRemote {
  /** git:// URL of a "repository" on it */
  url(repo: string): string;
  /** connections accepted so far */
  readonly accepted: number;
  close(): Promise<void>;
}

/**
 * A TCP listener on 127.0.0.1 that accepts every connection and never answers: what an
 * attacker on the path (or a wedged git server) offers. Used as a git:// remote.
 */
export async function startStalledRemote(): Promise<StalledRemote> {
  const sockets = new Set<import('node:net').Socket>();
  let accepted = 0;
  const srv = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: (repo) => `git://127.0.0.1:${port}/${repo}`,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}
