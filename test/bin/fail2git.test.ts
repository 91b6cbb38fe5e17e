/**
 * The CLI entry point's lazy command loading: a command this build lacks is "not available",
 * but a command whose dependencies are missing or unreadable says which one, instead of
 * claiming the command does not exist.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

afterAll(cleanupTmp);

/** dist/ and package.json copied where no node_modules can be found. */
function bareBuild(): string {
  const dir = tmpDir('f2g-bare-build');
  cpSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
  return dir;
}

function run(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, [join(dir, 'dist/bin/fail2git.js'), ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

describe('fail2git <command> loading', () => {
  it('names the missing dependency when node_modules is absent, rather than "not available in this build"', () => {
    const dir = bareBuild();
    // list loads the address parser and YAML only once it has a ledger to read.
    const r = run(dir, ['list', '--ledger', REPO_ROOT]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^fail2git: cannot load "list": \S+ is missing or unreadable for this user \(run npm ci, or use the self-contained dist\/bundle\/\)\n$/);
  });

  it('says a command is not available when this build lacks its module', () => {
    const dir = bareBuild();
    rmSync(join(dir, 'dist/bin/commands/list.js'));
    const r = run(dir, ['list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('fail2git: "list" is not available in this build\n');
  });
});
