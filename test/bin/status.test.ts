/** `fail2git status --fleet` against a real remote holding hostile status refs. */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { makeLedgerRemote } from '../helpers/git.js';
import { looksLikeStackTrace, runCli } from '../helpers/cli.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

afterAll(() => cleanupTmp());

function plant(bare: string, ref: string, text: string): void {
  const env = { ...process.env, GIT_AUTHOR_NAME: 'x', GIT_AUTHOR_EMAIL: 'x@example.invalid', GIT_COMMITTER_NAME: 'x', GIT_COMMITTER_EMAIL: 'x@example.invalid' };
  const run = (args: string[], input = '') => execFileSync('git', ['-C', bare, ...args], { input, env, encoding: 'utf8' }).trim();
  const tree = run(['mktree'], `100644 blob ${run(['hash-object', '-w', '--stdin'], text)}\tstatus.json\n`);
  run(['update-ref', ref, run(['commit-tree', tree, '-m', 'planted'])]);
}

describe('fail2git status --fleet', () => {
  it('shows a status ref without targets as a flagged row with exit 1, not a stack trace', () => {
    const remote = makeLedgerRemote();
    plant(remote.bare, 'refs/fail2git/status/intruder', JSON.stringify({ version: 1, host: 'intruder', interval: '30s', seen: new Date().toISOString() }));
    const r = runCli(['status', '--fleet', '--remote', remote.bare, '--state-dir', tmpDir('f2g-status-fleet')]);
    expect(looksLikeStackTrace(r.stdout + r.stderr), r.stderr).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^intruder\s+-\s+unknown\s+INVALID RECORD\s+"targets" is missing or not an object$/m);
  });
});
