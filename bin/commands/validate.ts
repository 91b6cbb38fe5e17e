/**
 * `fail2git validate`: every problem in a ledger, one line each as `file:line:col: message`.
 * Exit 1 on any problem or warning, so CI refuses the pull request.
 */
import { EXIT_FINDING, EXIT_OK, out, parseFlags, type Command } from '../cli.js';
import { formatProblem, type LoadResult } from '../../controller/ledger/types.js';
import { LEDGER_FLAG_HELP, problemJson, resolveLedgerDir, quietOnClosedStdout } from './_ledger.js';

const HELP = `Usage: fail2git validate [--ledger DIR | --rev REV] [--json]

Checks the four ledger files (bans/active.yaml, allow.yaml, policy.yaml, targets.yaml):
YAML syntax, each kind's JSON Schema (unknown fields are errors), canonical addresses
(host bits zero, no /0), RFC 3339 times, expires not before at, duplicates, target names,
drivers and options, and — as warnings — bans overlapping the allowlist or broader than the
policy allows. Each finding is printed as file:line:col: message.

${LEDGER_FLAG_HELP}
  --rev REV      validate the ledger as committed at REV in the git repository at --ledger
                 (what a reconciler would read), not the working tree
  --json         machine-readable: {ok, dir, rev?, counts, problems[], warnings[]}

Exit: 0 valid, 1 problems or warnings found, 2 usage error.`;

function summary(r: LoadResult): string {
  const l = r.ledger;
  const at = l.source.rev ? ` at ${l.source.rev.slice(0, 12)}` : '';
  return `ok: ${l.bans.length} bans, ${l.allow.length} allowlisted networks, ${l.targets.length} targets${at} (${l.source.dir})`;
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ ledger?: string; rev?: string; json?: boolean }>(
      argv,
      { ledger: { type: 'string' }, rev: { type: 'string' }, json: { type: 'boolean' } },
      HELP,
      false,
    );
    if (!parsed) return EXIT_OK;
    quietOnClosedStdout();
    const { rev, json } = parsed.values;
    const dir = rev !== undefined ? (parsed.values.ledger ?? process.cwd()) : await resolveLedgerDir(parsed.values.ledger);
    const load = await import('../../controller/ledger/load.js');
    const result = rev !== undefined ? await load.loadLedgerFromGit(dir, rev) : await load.loadLedgerFromDir(dir);
    const warnings = result.warnings ?? [];
    const ok = result.problems.length === 0 && warnings.length === 0;
    if (json) {
      const l = result.ledger;
      out(JSON.stringify({
        ok,
        dir: l.source.dir,
        ...(l.source.rev ? { rev: l.source.rev } : {}),
        counts: { bans: l.bans.length, allow: l.allow.length, targets: l.targets.length },
        problems: result.problems.map(problemJson),
        warnings: warnings.map(problemJson),
      }, null, 2));
    } else {
      for (const p of result.problems) out(formatProblem(p));
      for (const w of warnings) out(`${formatProblem(w)} (warning)`);
      if (ok) out(summary(result));
    }
    return ok ? EXIT_OK : EXIT_FINDING;
  },
};
