// Git for the benches that run the fail2ban side (action, fail2ban, hook): one identity, and a
// bare ledger remote seeded with this repository's example bans/.
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' };

export const git = (cwd, ...args) => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();

/** A bare remote under `root` holding `repo`'s bans/; returns its path. */
export function makeRemote(root, repo) {
  const bare = join(root, 'ledger.git');
  const work = join(root, 'seed');
  git(root, 'init', '-q', '--bare', '-b', 'main', bare);
  git(root, 'init', '-q', '-b', 'main', work);
  cpSync(join(repo, 'bans'), join(work, 'bans'), { recursive: true });
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'seed');
  git(work, 'push', '-q', bare, 'main');
  return bare;
}
