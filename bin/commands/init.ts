/**
 * `fail2git init DIR [--remote URL] [--allow CIDR]...`: a new ledger repository with safe
 * defaults, a README for pull-request editors and CI for GitHub and GitLab.
 */
import { createInterface } from 'node:readline/promises';
import { EXIT_OK, UsageError, out, err, parseFlags, type Command } from '../cli.js';
import { VERSION } from '../commands.js';
import { tryParseCidr, CidrError } from '../../controller/net/cidr.js';
import { createLedgerRepo, updateLedgerCi } from '../../controller/init/create.js';
import { singleFileBuild } from '../../controller/init/ci-build.js';
import type { AllowSeed } from '../../controller/init/templates.js';

const HELP = `Usage: fail2git init DIR [--remote URL] [--branch NAME] [--allow CIDR]... [--signing-key PATH]
       fail2git init --update-ci DIR [--branch NAME]

Creates a new ledger repository in DIR (which must not exist or be empty):
  bans/active.yaml   an empty BanList
  bans/allow.yaml    the AllowList: your management networks (--allow, or asked for on a terminal)
  bans/policy.yaml   a Policy with safe defaults
  bans/targets.yaml  every driver as a commented example (nothing is enforced until you choose)
  README.md          how to ban and unban by pull request
  .github/workflows/fail2git.yml, .gitlab-ci.yml   validate, fmt --check and review on every
                     pull request, run with .fail2git/fail2git.mjs
  .fail2git/fail2git.mjs   this fail2git as one file, for CI (Node and git only, no registry)
and makes the first commit (signed with --signing-key, an SSH key). With --remote, pushes it.
--update-ci rewrites the CI files and .fail2git/fail2git.mjs of an existing ledger in DIR with
this version (bans/ untouched); review the change and commit it.

  --remote URL         push the new ledger there (an empty repository)
  --branch NAME        default main
  --allow CIDR[=WHY]   a network never to ban, e.g. --allow 192.0.2.0/24=management (repeatable)
  --signing-key PATH   sign the first commit with this SSH key (gpg.format=ssh)
  --update-ci          refresh an existing ledger's CI and its copy of the build`;

function parseAllow(values: string[]): AllowSeed[] {
  return values.map((v) => {
    const [cidr = '', ...why] = v.split('=');
    const c = tryParseCidr(cidr.trim());
    if (c instanceof CidrError) throw new UsageError(`--allow ${JSON.stringify(v)}: ${c.message}`);
    return { cidr: c.key, reason: why.join('=').trim() || 'management network' };
  });
}

/** On a terminal with no --allow, ask: an empty allowlist is how admins lock themselves out. */
async function askAllow(): Promise<AllowSeed[]> {
  if (!process.stdin.isTTY) return [];
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question('Management networks that must never be banned (comma-separated CIDRs, empty to skip): ');
    return parseAllow(answer.split(',').map((s) => s.trim()).filter((s) => s !== ''));
  } finally {
    rl.close();
  }
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ remote?: string; branch?: string; allow?: string[]; 'signing-key'?: string; 'update-ci'?: boolean }>(
      argv,
      { remote: { type: 'string' }, branch: { type: 'string' }, allow: { type: 'string', multiple: true }, 'signing-key': { type: 'string' }, 'update-ci': { type: 'boolean' } },
      HELP,
    );
    if (!parsed) return EXIT_OK;
    const [dir, ...extra] = parsed.positionals;
    if (!dir || extra.length > 0) throw new UsageError('init needs exactly one DIR (see fail2git init --help)');
    const branch = parsed.values.branch ?? 'main';
    if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.startsWith('-')) throw new UsageError(`--branch ${JSON.stringify(branch)} is not a branch name`);
    if (parsed.values.remote?.startsWith('-')) throw new UsageError(`--remote ${JSON.stringify(parsed.values.remote)} is not a git URL`);
    const ciBuild = singleFileBuild(process.argv[1] ?? '');
    if (parsed.values['update-ci']) {
      if (parsed.values.remote || parsed.values.allow || parsed.values['signing-key']) throw new UsageError('--update-ci takes only DIR and --branch');
      const written = updateLedgerCi({ dir, branch, version: VERSION, ciBuild });
      out(`updated ${written.join(', ')} in ${dir} to fail2git ${VERSION}; review and commit: git -C ${dir} commit -am "CI: fail2git ${VERSION}"`);
      return EXIT_OK;
    }
    const allow = parsed.values.allow ? parseAllow(parsed.values.allow) : await askAllow();
    const opts = { dir, branch, allow, version: VERSION, ciBuild, ...(parsed.values.remote ? { remote: parsed.values.remote } : {}), ...(parsed.values['signing-key'] ? { signingKey: parsed.values['signing-key'] } : {}) };
    const result = await createLedgerRepo(opts);
    out(`created ledger ${dir} (${result.files.length} files, commit ${result.commit.slice(0, 12)}${result.pushed ? `, pushed to ${parsed.values.remote}` : ''})`);
    if (allow.length === 0) err(`warning: bans/allow.yaml is empty; add your management networks before any host enforces this ledger`);
    out('next: choose targets in bans/targets.yaml, point each host\'s /etc/fail2git/config.yaml at the remote, run fail2git doctor');
    return EXIT_OK;
  },
};
