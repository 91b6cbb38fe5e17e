/**
 * `fail2git init` through the real CLI: the new ledger validates, pushes to a real bare
 * remote, signs its first commit, and the GitHub/GitLab CI it generates runs locally.
 * Run `npm run build` first (the test executes dist/bin/fail2git.js).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { git, REPO_ROOT } from '../helpers/git.js';
import { verifyCommits } from '../../controller/git/signing.js';
import { GITHUB_CHECK_STEPS, GITHUB_WORKFLOW_PATH, GITLAB_CI_PATH } from '../../controller/init/ci-templates.js';
import { LEDGER_BUILD_PATH } from '../../controller/init/ci-build.js';
import { runCli, CLI } from '../helpers/cli.js';

const f2g = runCli;

afterAll(() => cleanupTmp());

function init(extra: string[] = []): string {
  const dir = join(tmpDir('f2g-init'), 'ledger');
  const r = f2g(['init', dir, '--allow', '192.0.2.0/24=management', ...extra]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return dir;
}

/**
 * The environment a ledger's CI job has: the runner's Node and git on PATH, no fail2git
 * installed, and no package registry reachable (npm pointed at a closed port): the steps may
 * only use the build committed in the ledger.
 */
function ciEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const nodeDir = dirname(process.execPath);
  return {
    PATH: `${nodeDir}:/usr/bin:/bin`,
    HOME: tmpDir('f2g-ci-home'),
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_offline: 'true',
    ...extra,
  };
}

interface Step { id?: string; run?: string; shell?: string; env?: Record<string, string> }

/** Runs one generated workflow step's script the way GitHub's `shell: bash` does. */
function runGithubStep(step: Step, cwd: string, env: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  expect(step.shell).toBe('bash');
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {
    cwd,
    encoding: 'utf8',
    env: ciEnv(env),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function commitAll(dir: string, message: string): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

const BAN_HEADER = 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n';

describe('fail2git init', () => {
  it('creates a ledger that validates and is already in canonical layout', () => {
    const dir = init();
    for (const f of ['bans/active.yaml', 'bans/allow.yaml', 'bans/policy.yaml', 'bans/targets.yaml', 'README.md', GITHUB_WORKFLOW_PATH, GITLAB_CI_PATH, LEDGER_BUILD_PATH]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(readFileSync(join(dir, 'bans/allow.yaml'), 'utf8')).toContain('- {cidr: 192.0.2.0/24, reason: management}');
    expect(git(dir, 'status', '--porcelain')).toBe('');
    expect(git(dir, 'log', '--format=%s')).toBe('Create the ban ledger (fail2git init)');
    const v = f2g(['validate'], dir);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('0 bans, 1 allowlisted');
    expect(f2g(['fmt', '--check'], dir).code).toBe(0);
  });

  it('warns when no management network is allowlisted', () => {
    const dir = join(tmpDir('f2g-init'), 'ledger');
    const r = f2g(['init', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('bans/allow.yaml is empty');
    expect(f2g(['validate'], dir).code).toBe(0);
  });

  it('refuses a non-empty directory and a bad --allow, writing nothing', () => {
    const parent = tmpDir('f2g-init');
    mkdirSync(join(parent, 'full'));
    writeFileSync(join(parent, 'full', 'keep.txt'), 'mine\n');
    const full = f2g(['init', join(parent, 'full')]);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/not empty/);
    expect(readFileSync(join(parent, 'full', 'keep.txt'), 'utf8')).toBe('mine\n');
    const bad = f2g(['init', join(parent, 'new'), '--allow', '999.1.1.1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--allow "999.1.1.1"');
    expect(existsSync(join(parent, 'new'))).toBe(false);
  });

  it('pushes to --remote, a real bare repository', () => {
    const bare = join(tmpDir('f2g-init-remote'), 'ledger.git');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    const dir = init(['--remote', bare]);
    expect(git(bare, 'rev-parse', 'main')).toBe(git(dir, 'rev-parse', 'HEAD'));
  });

  it('signs the first commit with --signing-key', async () => {
    const keys = tmpDir('f2g-init-key');
    const key = join(keys, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const dir = init(['--signing-key', key]);
    const email = git(dir, 'log', '-1', '--format=%ce');
    writeFileSync(join(keys, 'allowed'), `${email} ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`);
    const r = await verifyCommits(dir, undefined, git(dir, 'rev-parse', 'HEAD'), join(keys, 'allowed'));
    expect(r.ok).toBe(true);
  });
});

describe('the generated GitHub workflow, run locally', () => {
  function stepsOf(dir: string): Map<string, Step> {
    const wf = parse(readFileSync(join(dir, GITHUB_WORKFLOW_PATH), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
    const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
    return new Map(steps.filter((s) => s.id).map((s) => [s.id!, s]));
  }

  it('validates, then summarises a clean pull request (exit 0) into the step summary', () => {
    const dir = init();
    const steps = stepsOf(dir);
    expect([...steps.keys()]).toEqual(expect.arrayContaining([...GITHUB_CHECK_STEPS]));
    expect(steps.has('install')).toBe(false);
    const fmt = runGithubStep(steps.get('fmt')!, dir, {});
    expect(fmt.code, fmt.stderr).toBe(0);
    const base = git(dir, 'rev-parse', 'HEAD');
    writeFileSync(join(dir, 'bans/active.yaml'), `${BAN_HEADER}  - {cidr: 198.51.100.7, expires: 2026-12-01T00:00:00Z, at: 2026-11-25T10:00:00Z, by: alice, reason: "ticket 42"}\n`);
    const head = commitAll(dir, 'ban 198.51.100.7');
    const summary = join(tmpDir('f2g-init-gh'), 'summary.md');
    const env = { BASE_SHA: base, HEAD_SHA: head, GITHUB_STEP_SUMMARY: summary };
    const validate = runGithubStep(steps.get('validate')!, dir, env);
    expect(validate.stderr).toBe('');
    expect(validate.code).toBe(0);
    const review = runGithubStep(steps.get('review')!, dir, env);
    expect(review.code).toBe(0);
    expect(readFileSync(summary, 'utf8')).toContain('**1 ban added, 0 removed, 0 changed, no findings**');
    expect(review.stdout).toContain('198.51.100.7, until 2026-12-01T00:00:00Z, by: alice, reason: ticket 42');
  });

  it('fails the review step on a ban inside the allowlist, and the validate step on a broken ledger', () => {
    const dir = init();
    const steps = stepsOf(dir);
    const base = git(dir, 'rev-parse', 'HEAD');
    writeFileSync(join(dir, 'bans/active.yaml'), `${BAN_HEADER}  - {cidr: 192.0.2.9, at: 2026-11-25T10:00:00Z, by: mallory}\n`);
    const head = commitAll(dir, 'ban the admins');
    const summary = join(tmpDir('f2g-init-gh'), 'summary.md');
    const env = { BASE_SHA: base, HEAD_SHA: head, GITHUB_STEP_SUMMARY: summary };
    const review = runGithubStep(steps.get('review')!, dir, env);
    expect(review.code).toBe(1);
    expect(readFileSync(summary, 'utf8')).toContain('192.0.2.9 overlaps allowlisted 192.0.2.0/24 (management)');

    writeFileSync(join(dir, 'bans/active.yaml'), `${BAN_HEADER}  - {cidr: 999.1.1.1, by: typo}\n`);
    commitAll(dir, 'broken');
    const validate = runGithubStep(steps.get('validate')!, dir, env);
    expect(validate.code).not.toBe(0);
    expect(validate.stdout + validate.stderr).toContain('bans/active.yaml:4');
  });
});

describe('the generated GitLab CI, run locally', () => {
  it('runs its script lines with merge-request variables', () => {
    const dir = init();
    const job = (parse(readFileSync(join(dir, GITLAB_CI_PATH), 'utf8')) as Record<string, { script: string[] }>).fail2git!;
    const base = git(dir, 'rev-parse', 'HEAD');
    writeFileSync(join(dir, 'bans/active.yaml'), `${BAN_HEADER}  - {cidr: 203.0.113.0/24, at: 2026-11-25T10:00:00Z, by: alice, reason: botnet}\n`);
    const head = commitAll(dir, 'ban a /24');
    const env = ciEnv({ CI_MERGE_REQUEST_DIFF_BASE_SHA: base, CI_COMMIT_SHA: head });
    const outputs = job.script.map((line) => spawnSync('sh', ['-e', '-c', line], { cwd: dir, encoding: 'utf8', env }));
    expect(outputs.map((o) => o.status)).toEqual(job.script.map(() => 0));
    expect(outputs.map((o) => o.stdout).join('')).toContain('1 ban added');
  });
});

describe('the ledger CI needs no registry', () => {
  it('keeps a copy of this fail2git in the ledger, committed, and the CI runs only it', () => {
    const dir = init();
    expect(git(dir, 'ls-files', LEDGER_BUILD_PATH)).toBe(LEDGER_BUILD_PATH);
    const v = spawnSync(process.execPath, [join(dir, LEDGER_BUILD_PATH), '--version'], { encoding: 'utf8', env: ciEnv({}) });
    expect(v.stdout).toBe(`fail2git ${(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
    for (const file of [GITHUB_WORKFLOW_PATH, GITLAB_CI_PATH]) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text, file).not.toMatch(/npm|npx|yarn|pnpm/);
      expect(text).toContain(`node ${LEDGER_BUILD_PATH} validate`);
    }
  });

  it('GitHub: least permissions, the one action pinned by commit, no credentials kept', () => {
    const wf = parse(readFileSync(join(init(), GITHUB_WORKFLOW_PATH), 'utf8')) as { permissions: unknown; jobs: Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }> };
    expect(wf.permissions).toEqual({ contents: 'read' });
    const uses = Object.values(wf.jobs).flatMap((j) => j.steps).filter((st) => st.uses);
    expect(uses.length).toBeGreaterThan(0);
    for (const st of uses) {
      expect(st.uses).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/);
      expect(st.with?.['persist-credentials']).toBe(false);
    }
  });

  it('init --update-ci refreshes the CI files and the build of an existing ledger, never bans/', () => {
    const dir = init();
    writeFileSync(join(dir, LEDGER_BUILD_PATH), '// old build\n');
    writeFileSync(join(dir, GITHUB_WORKFLOW_PATH), 'name: old\n');
    const bansBefore = readFileSync(join(dir, 'bans/allow.yaml'), 'utf8');
    const r = f2g(['init', '--update-ci', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('review and commit');
    expect(git(dir, 'status', '--porcelain')).toBe(''); // back to exactly what init wrote
    expect(readFileSync(join(dir, 'bans/allow.yaml'), 'utf8')).toBe(bansBefore);
    const notLedger = f2g(['init', '--update-ci', tmpDir('f2g-init-empty')]);
    expect(notLedger.code).toBe(1);
    expect(notLedger.stderr).toMatch(/no bans\/ here/);
  });
});
