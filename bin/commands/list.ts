/**
 * `fail2git list`: the enforceable set at a moment — what every reconciler enforces:
 * expired, allowlisted and too-broad bans left out.
 */
import { EXIT_FINDING, EXIT_OK, UsageError, err, parseFlags, type Command } from '../cli.js';
import { formatTime, parseDuration } from '../../controller/lib/duration.js';
import { printable } from '../../controller/lib/printable.js';
import { LEDGER_FLAG_HELP, atFlag, enforceable, resolveLedgerDir, setSummary, quietOnClosedStdout } from './_ledger.js';
import type { DesiredEntry } from '../../controller/targets/types.js';

const HELP = `Usage: fail2git list [--at TIME] [--jail NAME] [--by NAME] [--expiring-within DURATION] [--json] [--ledger DIR]

Prints the enforceable set: bans live at TIME (default now) minus expired ones, bans
overlapping the allowlist, and bans broader than the policy allows. One line per entry:
CIDR, expiry (or "permanent"), who banned it and the jail. A summary goes to stderr.

  --at TIME      an RFC 3339 time, e.g. 2026-11-22T09:00:00Z (default: now)
  --jail NAME    only bans made by that fail2ban jail
  --by NAME      only bans whose "by" is NAME (a host or a person)
  --expiring-within DURATION   only bans that expire within DURATION of TIME (e.g. 1h, 7d)
  --json         {at, rev?, entries[], skipped[], nextExpiry?}
${LEDGER_FLAG_HELP}

Exit: 0 listed, 1 the ledger is invalid (problems on stderr), 2 usage error.`;

/** One row per entry; names from the ledger are printed with control characters escaped. */
function lines(entries: readonly DesiredEntry[]): string {
  const width = entries.reduce((w, e) => Math.max(w, e.cidr.length), 0);
  const rows = entries.map((e) => {
    const cols = [e.cidr.padEnd(width), (e.expires ?? 'permanent').padEnd(20)];
    if (e.by !== undefined) cols.push(`by ${e.by}`);
    if (e.jail !== undefined) cols.push(`jail ${e.jail}`);
    return printable(cols.join('  ').trimEnd());
  });
  return rows.length ? rows.join('\n') + '\n' : '';
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ ledger?: string; at?: string; json?: boolean; jail?: string; by?: string; 'expiring-within'?: string }>(
      argv,
      { ledger: { type: 'string' }, at: { type: 'string' }, json: { type: 'boolean' }, jail: { type: 'string' }, by: { type: 'string' }, 'expiring-within': { type: 'string' } },
      HELP,
      false,
    );
    if (!parsed) return EXIT_OK;
    quietOnClosedStdout();
    const at = atFlag(parsed.values.at);
    const within = parsed.values['expiring-within'];
    let horizon: number | undefined;
    if (within !== undefined) {
      try {
        horizon = at.getTime() + parseDuration(within);
      } catch (e) {
        throw new UsageError(`--expiring-within ${JSON.stringify(within)}: ${(e as Error).message}`);
      }
    }
    const loaded = await enforceable(await resolveLedgerDir(parsed.values.ledger), at);
    if (!loaded) return EXIT_FINDING;
    const { result } = loaded;
    const { jail, by } = parsed.values;
    const set = {
      ...loaded.set,
      entries: loaded.set.entries.filter((e) =>
        (jail === undefined || e.jail === jail) && (by === undefined || e.by === by) &&
        (horizon === undefined || (e.expires !== undefined && Date.parse(e.expires) <= horizon))),
    };
    if (parsed.values.json) {
      const doc = {
        at: formatTime(at),
        ...(result.ledger.source.rev ? { rev: result.ledger.source.rev } : {}),
        entries: set.entries,
        skipped: set.skipped,
        ...(set.nextExpiry ? { nextExpiry: formatTime(set.nextExpiry) } : {}),
      };
      process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    } else {
      process.stdout.write(lines(set.entries));
      err(setSummary(set.entries.length, set.skipped, at, formatTime));
    }
    return EXIT_OK;
  },
};
