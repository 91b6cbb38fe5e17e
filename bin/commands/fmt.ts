/**
 * `fail2git fmt`: rewrites the ledger into its canonical layout so a ban's diff is one
 * line. active.yaml and allow.yaml become fully canonical (header comments kept; comments
 * between entries of active.yaml are dropped, allow.yaml keeps its layout when it has
 * any); policy.yaml and targets.yaml are hand-written and only get their byte-level
 * repairs (BOM, CRLF, final newline). A file with problems is never rewritten.
 */
import { readLedgerFile } from '../../controller/ledger/load.js';
import { InputError } from '../../controller/lib/errors.js';
import { writeFileAtomic } from '../../controller/lib/files.js';
import { join, dirname, basename } from 'node:path';
import { EXIT_FINDING, EXIT_OK, err, out, parseFlags, type Command } from '../cli.js';
import { LEDGER_FILES, formatProblem, type Problem } from '../../controller/ledger/types.js';
import { checkLedgerText, headerOf, stripBomAndCrlf } from '../../controller/ledger/text.js';
import { formatBanList, parseBanList } from '../../controller/ledger/banlist.js';
import { formatAllowList } from '../../controller/ledger/allowlist-format.js';
import { parseAllowList, parsePolicy, parseTargets } from '../../controller/ledger/documents.js';
import { hasCommentsBeyondHeader } from '../../controller/ledger/yaml-parse.js';
import { LEDGER_FLAG_HELP, resolveLedgerDir, quietOnClosedStdout } from './_ledger.js';

const HELP = `Usage: fail2git fmt [--check] [--ledger DIR]

Rewrites the ledger files into the canonical layout:
  bans/active.yaml   header comments, apiVersion, kind, then one flow mapping per line,
                     sorted by address (IPv4 before IPv6, IPv6 quoted), keys in the order
                     cidr, expires, at, by, jail, reason, count; canonical CIDRs and UTC times
  bans/allow.yaml    the same layout (left alone if it has comments between entries)
  bans/policy.yaml, bans/targets.yaml   byte-level repairs only: BOM, CRLF, final newline
A file with problems (see fail2git validate) is reported and not rewritten.

  --check        change nothing; list the files that are not canonical and exit 1
${LEDGER_FLAG_HELP}

Exit: 0 canonical (or rewritten), 1 not canonical under --check or problems, 2 usage error.`;

interface Outcome {
  file: string;
  canonical?: string;
  problems: Problem[];
  note?: string;
}

/** The canonical text of one file, from its (repaired) text. */
export function canonicalText(file: string, text: string): Outcome {
  if (file === LEDGER_FILES.bans) {
    const p = parseBanList(text, file, { anySize: true });
    return p.problems.length ? { file, problems: p.problems } : { file, problems: [], canonical: formatBanList(p.bans, p.header) };
  }
  if (file === LEDGER_FILES.allow) {
    const p = parseAllowList(text, file, { anySize: true });
    if (p.problems.length) return { file, problems: p.problems };
    const header = headerOf(text);
    if (hasCommentsBeyondHeader(text, header)) return { file, problems: [], canonical: text, note: 'has comments between entries; layout left as written' };
    return { file, problems: [], canonical: formatAllowList(p.allow, header) };
  }
  const problems = file === LEDGER_FILES.policy ? parsePolicy(text, file, { anySize: true }).problems : parseTargets(text, file, { anySize: true }).problems;
  return { file, problems, canonical: text.endsWith('\n') || text === '' ? text : text + '\n' };
}

async function readRepaired(path: string, file: string): Promise<{ raw: Buffer; text?: string; problems: Problem[] } | null> {
  const bytes = await readLedgerFile(path);
  if (bytes === null) return null;
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoded = checkLedgerText(raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? raw.subarray(3) : raw, file);
  // Only encoding and size problems stop fmt here; BOM and CRLF are what it repairs.
  const fatal = decoded.problems.filter((p) => p.code === 'E_ENCODING' || p.code === 'E_TOO_LARGE');
  if (fatal.length) return { raw, problems: fatal };
  return { raw, text: stripBomAndCrlf(raw.toString('utf8')), problems: [] };
}

async function writeAtomically(path: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(path, text, { keepMode: true });
  } catch (e) {
    throw new InputError('E_LEDGER_WRITE', `${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? 'error'}); file left unchanged`, { cause: e });
  }
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ ledger?: string; check?: boolean }>(argv, { ledger: { type: 'string' }, check: { type: 'boolean' } }, HELP, false);
    if (!parsed) return EXIT_OK;
    quietOnClosedStdout();
    const dir = await resolveLedgerDir(parsed.values.ledger);
    let failed = false;
    for (const file of Object.values(LEDGER_FILES)) {
      const path = join(dir, file);
      const read = await readRepaired(path, file);
      if (!read) continue;
      const outcome = read.text === undefined ? { file, problems: read.problems } as Outcome : canonicalText(file, read.text);
      if (outcome.problems.length || outcome.canonical === undefined) {
        for (const p of outcome.problems) err(formatProblem(p));
        err(`${file}: has problems; not rewritten`);
        failed = true;
        continue;
      }
      if (outcome.note) err(`${file}: ${outcome.note}`);
      if (Buffer.from(outcome.canonical, 'utf8').equals(read.raw)) continue;
      if (parsed.values.check) {
        out(`${file}: not in canonical layout (run fail2git fmt)`);
        failed = true;
      } else {
        await writeAtomically(path, outcome.canonical);
        out(`${file}: rewritten`);
      }
    }
    return failed ? EXIT_FINDING : EXIT_OK;
  },
};
