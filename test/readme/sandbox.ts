/**
 * A sandbox root for running the README's install steps: a temp dir standing for `/`, a
 * "clone" of this repository (symlinks to the built dist/, hooks/ and deploy/), an empty
 * bare ledger remote, and a shell that runs README blocks there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, REPO_ROOT } from '../helpers/git.js';
import { tmpDir } from '../helpers/tmp.js';
import { sandboxed } from './readme-blocks.js';

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  /** the temp dir holding everything */
  dir: string;
  /** stands for `/` */
  root: string;
  /** the working directory of every block: a clone of this repository */
  clone: string;
  /** the ledger remote (a real bare repository) */
  bare: string;
  /** the host config path the README writes, inside the sandbox */
  config: string;
  env: NodeJS.ProcessEnv;
  /** README text with host paths and the example remote rewritten into this sandbox */
  rewrite(text: string): string;
  /** runs a shell script (`sh -e`) in the clone, optionally inside a network namespace */
  sh(script: string, netns?: string): ShellResult;
  /** runs a program with arguments (no shell) in the clone */
  run(argv: string[], netns?: string): ShellResult;
}

// Directories a Debian host already has, which the README's commands write into.
const HOST_DIRS = ['usr/local/bin', 'etc/bash_completion.d', 'etc/systemd/system'];

export function makeSandbox(): Sandbox {
  const dir = tmpDir('f2g-readme');
  const root = join(dir, 'root');
  const clone = join(dir, 'clone');
  const bare = join(dir, 'ledger.git');
  for (const d of HOST_DIRS) mkdirSync(join(root, d), { recursive: true });
  mkdirSync(clone);
  for (const d of ['dist', 'hooks', 'deploy']) symlinkSync(join(REPO_ROOT, d), join(clone, d));
  // `fail2git init --remote` pushes to an empty repository, as a new repo on a git server is.
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
  // A fresh host: no git identity or settings of the machine running the tests.
  const gitconfig = join(dir, 'gitconfig');
  writeFileSync(gitconfig, '');
  const config = join(root, 'etc', 'fail2git', 'config.yaml');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(root, 'usr', 'local', 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    // Commands the README runs without --config read the default path; here it is the sandbox's.
    FAIL2GIT_CONFIG: config,
    GIT_CONFIG_GLOBAL: gitconfig,
    GIT_CONFIG_NOSYSTEM: '1',
  };
  const exec = (argv: string[], netns?: string): ShellResult => {
    const full = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
    const r = spawnSync(full[0]!, full.slice(1), { cwd: clone, env, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  };
  return {
    dir,
    root,
    clone,
    bare,
    config,
    env,
    rewrite: (text) => sandboxed(text, root, bare),
    sh: (script, netns) => exec(['sh', '-e', '-c', script], netns),
    run: exec,
  };
}

/** A readable failure message for a step that should have exited 0. */
export function explain(what: string, r: ShellResult): string {
  return `${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Paths the README writes on a real host: the sandbox must leave the host's untouched. */
export const HOST_PATHS = [
  '/usr/local/lib/fail2git',
  '/usr/local/bin/fail2git',
  '/etc/bash_completion.d/fail2git',
  '/etc/fail2git',
  '/var/lib/fail2git',
  '/etc/fail2ban/action.d/fail2git.conf',
  '/etc/fail2ban/jail.local',
  '/etc/systemd/system/fail2git-reconcile.service',
  '/var/www/html/fail2git.txt',
] as const;

/** Existence and mtime of each host path, to compare before and after. */
export function hostSnapshot(): Record<string, number | null> {
  const snap: Record<string, number | null> = {};
  for (const p of HOST_PATHS) snap[p] = existsSync(p) ? statSync(p).mtimeMs : null;
  return snap;
}

/** The remote's `bans/active.yaml` at the tip. */
export function remoteFile(bare: string, path: string): string {
  return git(bare, 'show', `main:${path}`);
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
