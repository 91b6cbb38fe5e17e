/** Runs the built CLI (`npm run build` first) and writes ledgers into temp dirs. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './git.js';
import { tmpDir } from './tmp.js';

export const CLI = join(REPO_ROOT, 'dist/bin/fail2git.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], cwd = REPO_ROOT, env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    // no host config on the test machine may leak in
    env: { ...process.env, FAIL2GIT_CONFIG: '/nonexistent/fail2git.yaml', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A ledger directory holding `files` (paths like `bans/active.yaml`). */
export function writeLedger(files: Record<string, string | Uint8Array>, prefix = 'cli-ledger'): string {
  const dir = tmpDir(prefix);
  mkdirSync(join(dir, 'bans'), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** True when the output shows a crash rather than a message. */
export function looksLikeStackTrace(text: string): boolean {
  return /\n\s+at .+:\d+:\d+\)?/.test(text) || text.includes('internal error');
}
