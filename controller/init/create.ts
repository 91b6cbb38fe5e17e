/**
 * Creates a new ledger repository: the files, a first commit (signed when a key is given)
 * and, with a remote, the first push. Refuses a non-empty directory: init never overwrites.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { InputError, TransientError } from '../lib/errors.js';
import { LEDGER_FILES } from '../ledger/types.js';
import { signingArgs } from '../git/signing.js';
import { execRunner, type Runner } from '../lib/exec.js';
import { BANS_TEMPLATE, POLICY_TEMPLATE, TARGETS_TEMPLATE, allowTemplate, type AllowSeed } from './templates.js';
import { GITHUB_WORKFLOW_PATH, GITLAB_CI_PATH, githubWorkflow, gitlabCi, readmeTemplate } from './ci-templates.js';
import { LEDGER_BUILD_PATH } from './ci-build.js';

export interface InitOptions {
  dir: string;
  remote?: string;
  branch: string;
  allow: AllowSeed[];
  /** fail2git version the CI templates pin */
  version: string;
  signingKey?: string;
  /** the single-file build copied to .fail2git/fail2git.mjs for the ledger's CI */
  ciBuild: string;
  run?: Runner;
}

export interface InitResult {
  files: string[];
  commit: string;
  pushed: boolean;
}

/** Every file of a new ledger, by path relative to the repository root. */
export function ledgerFiles(opts: Pick<InitOptions, 'branch' | 'allow' | 'version'>): Record<string, string> {
  return {
    [LEDGER_FILES.bans]: BANS_TEMPLATE,
    [LEDGER_FILES.allow]: allowTemplate(opts.allow),
    [LEDGER_FILES.policy]: POLICY_TEMPLATE,
    [LEDGER_FILES.targets]: TARGETS_TEMPLATE,
    'README.md': readmeTemplate(opts.branch),
    [GITHUB_WORKFLOW_PATH]: githubWorkflow(opts.version, opts.branch),
    [GITLAB_CI_PATH]: gitlabCi(opts.version, opts.branch),
  };
}

function assertEmptyDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new InputError('E_INIT_EXISTS', `${dir}: not empty; init creates a new ledger and never overwrites files`);
  }
}

/** Uses the person's own git identity when they have one; otherwise names the host. */
async function identityArgs(dir: string, run: Runner): Promise<string[]> {
  const has = await run('git', ['config', 'user.email'], { cwd: dir }).then((r) => r.stdout.trim() !== '', () => false);
  if (has) return [];
  const host = hostname();
  return ['-c', `user.name=fail2git init (${host})`, '-c', `user.email=fail2git@${host}`];
}

export async function createLedgerRepo(opts: InitOptions): Promise<InitResult> {
  const run = opts.run ?? execRunner;
  assertEmptyDir(opts.dir);
  const files = ledgerFiles(opts);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(opts.dir, rel)), { recursive: true });
    writeFileSync(join(opts.dir, rel), text, { mode: 0o644 });
  }
  copyCiBuild(opts.dir, opts.ciBuild);
  const git = (...args: string[]) => run('git', args, { cwd: opts.dir });
  await git('init', '-q', '-b', opts.branch);
  await git('add', '--', ...Object.keys(files), LEDGER_BUILD_PATH);
  const who = await identityArgs(opts.dir, run);
  await git(...who, ...signingArgs(opts), 'commit', '-q', '-m', 'Create the ban ledger (fail2git init)');
  const commit = (await git('rev-parse', 'HEAD')).stdout.trim();
  let pushed = false;
  if (opts.remote) {
    await git('remote', 'add', 'origin', opts.remote);
    try {
      await git('push', '-q', '-u', 'origin', opts.branch);
      pushed = true;
    } catch (err) {
      throw new TransientError('E_INIT_PUSH', `${opts.dir} created, but pushing to ${opts.remote} failed: ${(err as Error).message.split('\n')[0]}; push it later with git push -u origin ${opts.branch}`);
    }
  }
  return { files: [...Object.keys(files), LEDGER_BUILD_PATH], commit, pushed };
}

function copyCiBuild(dir: string, build: string): void {
  mkdirSync(join(dir, dirname(LEDGER_BUILD_PATH)), { recursive: true });
  copyFileSync(build, join(dir, LEDGER_BUILD_PATH));
}

export interface UpdateCiOptions {
  dir: string;
  branch: string;
  version: string;
  ciBuild: string;
}

/**
 * `init --update-ci`: rewrites the CI files and the ledger's copy of the build in an existing
 * ledger (never bans/); the person reviews and commits the change. Returns the paths written.
 */
export function updateLedgerCi(opts: UpdateCiOptions): string[] {
  if (!existsSync(join(opts.dir, 'bans'))) {
    throw new InputError('E_INIT_NOT_LEDGER', `${opts.dir}: no bans/ here; --update-ci refreshes the CI of an existing ledger`);
  }
  const files = { [GITHUB_WORKFLOW_PATH]: githubWorkflow(opts.version, opts.branch), [GITLAB_CI_PATH]: gitlabCi(opts.version, opts.branch) };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(opts.dir, rel)), { recursive: true });
    writeFileSync(join(opts.dir, rel), text, { mode: 0o644 });
  }
  copyCiBuild(opts.dir, opts.ciBuild);
  return [...Object.keys(files), LEDGER_BUILD_PATH];
}
