/**
 * `fail2git review --base REV [--head REV]`: a plan-style summary of what a pull request
 * changes in the ledger. Exit 1 when a reviewer must look (bans overlapping the allowlist,
 * broader than the policy allows, or not addresses at all).
 */
import { EXIT_FINDING, EXIT_OK, UsageError, defaultLedgerDir, parseFlags, type Command } from '../cli.js';
import { readLedgerTextsAt } from '../../controller/git/read-at.js';
import { hasFindings, parseSnapshot, summarize } from '../../controller/review/pr-summary.js';
import { formatSummary, type SummaryFormat } from '../../controller/review/pr-summary-format.js';

const HELP = `Usage: fail2git review --base REV [--head REV] [--ledger DIR] [--format text|markdown|json]

Summarises what merging HEAD over BASE changes in the ledger: bans added, removed and
changed; allowlist, policy and target changes. Findings (exit 1): a ban this change adds or
touches that overlaps the allowlist (or a new allow entry covering a ban), a ban broader than
the policy's broadestPrefix, an entry that is not an address. Validity is \`fail2git validate\`'s job.

  --base REV     the target branch's commit (e.g. the PR's base sha)
  --head REV     the proposed state (default HEAD; in CI the merge commit)
  --ledger DIR   a git checkout of the ledger (default: the current directory)
  --format F     text (default), markdown (GitHub step summary), json`;

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ base?: string; head?: string; ledger?: string; format?: string }>(
      argv,
      { base: { type: 'string' }, head: { type: 'string' }, ledger: { type: 'string' }, format: { type: 'string' } },
      HELP,
      false,
    );
    if (!parsed) return EXIT_OK;
    const { base, head = 'HEAD', format = 'text' } = parsed.values;
    if (!base) throw new UsageError('review needs --base REV (the commit the change is compared with)');
    if (!['text', 'markdown', 'json'].includes(format)) throw new UsageError(`--format must be text, markdown or json, got "${format}"`);
    const dir = defaultLedgerDir(parsed.values.ledger);
    const [before, after] = await Promise.all([readLedgerTextsAt(dir, base), readLedgerTextsAt(dir, head)]);
    const summary = summarize(parseSnapshot(before), parseSnapshot(after));
    if (format === 'json') process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else process.stdout.write(formatSummary(summary, format as SummaryFormat, `${base.slice(0, 12)}..${head.slice(0, 12)}`));
    return hasFindings(summary) ? EXIT_FINDING : EXIT_OK;
  },
};
