/**
 * The one CLI runner for tests: the built CLI (`npm run build` first) as a child process,
 * sync (`runCli`) or async (`cli`, for runs that must not block a server or emulator in the
 * test process). Both see no host config unless the test passes one, and give one CliResult.
 */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './git.js';

export const CLI = join(REPO_ROOT, 'dist/bin/fail2git.js');

export interface CliResult {
  /** the exit status (1 when killed by a signal or a timeout) */
  code: number;
  stdout: string;
  stderr: string;
  /** wall time of the run */
  ms: number;
}

// No host config on the test machine may leak in.
const cliEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...process.env, FAIL2GIT_CONFIG: '/nonexistent/fail2git.yaml', ...env });

export function runCli(args: string[], cwd = REPO_ROOT, env: NodeJS.ProcessEnv = {}): CliResult {
  const start = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: cliEnv(env) });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - start };
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** @default 60000 */
  timeoutMs?: number;
  /** a program and its arguments to run the CLI under, e.g. ['ip', 'netns', 'exec', NAME] */
  prefix?: readonly string[];
}

export function cli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const start = Date.now();
  const [cmd, ...pre] = opts.prefix ?? [];
  const file = cmd ?? process.execPath;
  const argv = cmd ? [...pre, process.execPath, CLI, ...args] : [CLI, ...args];
  return new Promise((resolve) => {
    execFile(file, argv, { cwd: opts.cwd ?? REPO_ROOT, timeout: opts.timeoutMs ?? 60_000, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: cliEnv(opts.env ?? {}) }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - start });
    });
  });
}


/** True when the output shows a crash rather than a message. */
export function looksLikeStackTrace(text: string): boolean {
  return /\n\s+at .+:\d+:\d+\)?/.test(text) || text.includes('internal error');
}
