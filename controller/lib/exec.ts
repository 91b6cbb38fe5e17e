/**
 * Runs programs with argument arrays, never through a shell. Output beyond what an
 * error needs is not kept in messages; stderr's first lines explain a failure.
 */
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { Fail2gitError, type ErrorCode } from './errors.js';

export interface RunOptions {
  /** written to stdin, then stdin is closed */
  input?: string;
  /** milliseconds; default 60 s */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** how stdout is decoded; `latin1` keeps binary output byte for byte (Buffer.from(stdout, 'latin1')); default utf8 */
  stdoutEncoding?: 'utf8' | 'latin1';
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export type Runner = (cmd: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export class ExecError extends Fail2gitError {
  readonly cmd: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(code: ErrorCode, cmd: string, exitCode: number | null, stderr: string, message: string) {
    super(code, message);
    this.cmd = cmd;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

function firstLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(0, n).join(' | ');
}

/** Aborted by stopChildren(): every program execRunner started and that still runs is killed. */
let stopping = stopController();

function stopController(): AbortController {
  const ac = new AbortController();
  // Every running program listens on it: many at once is normal, not a leak.
  setMaxListeners(0, ac.signal);
  return ac;
}

/**
 * Kills every program still running under execRunner (SIGTERM), e.g. a fetch from a remote
 * that never answers when the watch loop stops: a stopping process must neither wait for
 * their timeouts nor leave them behind (the timeout is the parent's timer; an orphan has
 * none). Later runs start afresh.
 */
export function stopChildren(): void {
  stopping.abort();
  stopping = stopController();
}

export const execRunner: Runner = (cmd, args, opts = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 60_000,
      signal: stopping.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code === 'ENOENT' ? 'E_EXEC_MISSING' : 'E_EXEC';
      const what = e.code === 'ENOENT' ? `${cmd}: command not found (is it installed?)` : `${cmd}: ${e.message}`;
      reject(new ExecError(code, cmd, null, '', what));
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString(opts.stdoutEncoding ?? 'utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) return resolve({ stdout, stderr });
      const why = signal ? `killed by ${signal}` : `exit ${code}`;
      reject(new ExecError('E_EXEC_FAILED', cmd, code, stderr, `${cmd} ${args[0] ?? ''} failed (${why}): ${firstLines(stderr) || firstLines(stdout)}`));
    });
    child.stdin.on('error', () => { /* reported via close */ });
    child.stdin.end(opts.input ?? '');
  });
