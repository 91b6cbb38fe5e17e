/**
 * `fail2git review --base REV [--head REV]`: a plan-style summary of what a pull request
 * changes in the ledger, led by what it starts and stops enforcing. Exit 1 when a reviewer
 * must look (newly enforced entries the base held back, bans overlapping the allowlist or
 * broader than the policy allows, entries that are not addresses, an invalid head).
 */
import { EXIT_FINDING, EXIT_OK, UsageError, defaultLedgerDir, parseFlags, type Command } from '../cli.js';
import { atFlag } from './_ledger.js';
import { isNullRev, readLedgerTextsAt, resolveCommit } from '../../controller/git/read-at.js';
import { loadLedgerFromGit } from '../../controller/ledger/load.js';
import { formatProblem } from '../../controller/ledger/types.js';
import { tryParseCidr, CidrError } from '../../controller/net/cidr.js';
import { hasFindings, parseSnapshot, snapshotOfLedger, summarize, type Snapshot } from '../../controller/review/pr-summary.js';
import { formatSummary, type SummaryFormat } from '../../controller/review/pr-summary-format.js';

const HELP = `Usage: fail2git review --base REV [--head REV] [--ledger DIR] [--format text|markdown|json]
                       [--at TIME] [--protect CIDR]...

Summarises what merging HEAD over BASE changes in the ledger. First what it changes in
enforcement: the enforceable set (\`fail2git list\`) of BASE and of HEAD, both at TIME,
compared — entries newly enforced and no longer enforced, each with its reason (added,
removed, allowlist narrowed or widened, policy loosened or tightened, expiry extended or
moved into the past, which is an unban). Then bans added, removed and changed; allowlist,
policy and target changes.

Findings (exit 1): an entry newly enforced inside the base's allowlist, broader than the
base policy's broadestPrefix, or inside a --protect range; a ban this change adds or
touches that overlaps the allowlist (or a new allow entry covering a ban); a ban broader
than the policy's broadestPrefix; an entry that is not an address; a head that is not a
valid ledger (hosts would keep enforcing their last good commit; \`fail2git validate\` lists
every problem).

  --base REV       the target branch's commit (e.g. the PR's base sha)
  --head REV       the proposed state (default HEAD; in CI the merge commit)
  --ledger DIR     a git checkout of the ledger (default: the current directory)
  --format F       text (default), markdown (GitHub step summary), json
  --at TIME        the moment both sides are evaluated at, RFC 3339 (default: now)
  --protect CIDR   a range that must never be banned (management, the git server);
                   repeatable: an entry newly enforced inside one is a finding`;

/** One side: the reconciler's own reading when valid, a lenient one (with its problems) when not. */
async function readSide(dir: string, rev: string): Promise<Snapshot> {
  if (isNullRev(rev)) return parseSnapshot({});
  const commit = await resolveCommit(dir, rev);
  const result = await loadLedgerFromGit(dir, commit);
  if (result.problems.length === 0) return snapshotOfLedger(result.ledger);
  return parseSnapshot(await readLedgerTextsAt(dir, commit), result.problems.map(formatProblem));
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ base?: string; head?: string; ledger?: string; format?: string; at?: string; protect?: string[] }>(
      argv,
      {
        base: { type: 'string' },
        head: { type: 'string' },
        ledger: { type: 'string' },
        format: { type: 'string' },
        at: { type: 'string' },
        protect: { type: 'string', multiple: true },
      },
      HELP,
      false,
    );
    if (!parsed) return EXIT_OK;
    const { base, head = 'HEAD', format = 'text', protect = [] } = parsed.values;
    if (!base) throw new UsageError('review needs --base REV (the commit the change is compared with)');
    if (!['text', 'markdown', 'json'].includes(format)) throw new UsageError(`--format must be text, markdown or json, got "${format}"`);
    for (const p of protect) {
      const c = tryParseCidr(p);
      if (c instanceof CidrError) throw new UsageError(`--protect: ${c.message}`);
    }
    const at = atFlag(parsed.values.at);
    const dir = defaultLedgerDir(parsed.values.ledger);
    const [before, after] = await Promise.all([readSide(dir, base), readSide(dir, head)]);
    const summary = summarize(before, after, { at, protect });
    if (format === 'json') process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else process.stdout.write(formatSummary(summary, format as SummaryFormat, `${base.slice(0, 12)}..${head.slice(0, 12)}`));
    return hasFindings(summary) ? EXIT_FINDING : EXIT_OK;
  },
};
