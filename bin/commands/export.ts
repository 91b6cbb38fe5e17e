/**
 * `fail2git export`: the enforceable set as a plain list for other firewalls. `txt` is one
 * canonical address or CIDR per line and nothing else — the form pfSense and OPNsense URL
 * table aliases ("URL Table (IPs)") download; `json` is for scripts.
 */
import { InputError } from '../../controller/lib/errors.js';
import { writeFileAtomic } from '../../controller/lib/files.js';
import { dirname, basename, join } from 'node:path';
import { EXIT_FINDING, EXIT_OK, UsageError, err, parseFlags, type Command } from '../cli.js';
import { formatTime } from '../../controller/lib/duration.js';
import { LEDGER_FLAG_HELP, atFlag, enforceable, resolveLedgerDir, setSummary, quietOnClosedStdout } from './_ledger.js';
import type { DesiredEntry } from '../../controller/targets/types.js';

const HELP = `Usage: fail2git export [--format txt|json] [--at TIME] [--output FILE] [--ledger DIR]

Writes the enforceable set (as fail2git list computes it) for firewalls fail2git does not
drive itself.

  --format txt   one address or CIDR per line, sorted, IPv4 first, no comments (default);
                 serve it over HTTPS for a pfSense/OPNsense "URL Table (IPs)" alias
  --format json  {"at": TIME, "count": N, "entries": [{"cidr", "expires"?}]}
  --at TIME      an RFC 3339 time (default: now)
  --output FILE  write FILE atomically (temp file + rename) instead of stdout
${LEDGER_FLAG_HELP}

Exit: 0 written, 1 the ledger is invalid (nothing is written), 2 usage error.`;

export function renderTxt(entries: readonly DesiredEntry[]): string {
  return entries.map((e) => e.cidr + '\n').join('');
}

export function renderJson(entries: readonly DesiredEntry[], at: Date): string {
  const list = entries.map((e) => (e.expires ? { cidr: e.cidr, expires: e.expires } : { cidr: e.cidr }));
  return JSON.stringify({ at: formatTime(at), count: list.length, entries: list }, null, 2) + '\n';
}

async function writeAtomically(path: string, text: string): Promise<void> {
  // A firewall polling the file must never read half of it.
  try {
    await writeFileAtomic(path, text, { mode: 0o644 });
  } catch (e) {
    throw new InputError('E_EXPORT_WRITE', `${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ ledger?: string; at?: string; format?: string; output?: string }>(
      argv,
      { ledger: { type: 'string' }, at: { type: 'string' }, format: { type: 'string' }, output: { type: 'string' } },
      HELP,
      false,
    );
    if (!parsed) return EXIT_OK;
    quietOnClosedStdout();
    const format = parsed.values.format ?? 'txt';
    if (format !== 'txt' && format !== 'json') throw new UsageError(`--format must be txt or json, got "${format}"`);
    const at = atFlag(parsed.values.at);
    const loaded = await enforceable(await resolveLedgerDir(parsed.values.ledger), at);
    if (!loaded) return EXIT_FINDING;
    const text = format === 'txt' ? renderTxt(loaded.set.entries) : renderJson(loaded.set.entries, at);
    if (parsed.values.output) {
      await writeAtomically(parsed.values.output, text);
      err(`${setSummary(loaded.set.entries.length, loaded.set.skipped, at, formatTime)}; wrote ${parsed.values.output}`);
    } else {
      process.stdout.write(text);
    }
    return EXIT_OK;
  },
};
