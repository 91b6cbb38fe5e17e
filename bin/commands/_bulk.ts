/**
 * Bulk bans and unbans for people (like `cscli decisions add -f` / `delete --scenario`): the
 * networks come from a blocklist file or a filter over the ledger at the remote tip, the
 * blast radius is printed first, and everything goes in one commit. A bulk unban honours the
 * ledger's removal guard (`maxRemovePerRun`): above it, nothing is spooled without --force,
 * because every enforcing host would hold those removals anyway.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../../controller/lib/errors.js';
import { parseBlocklist } from '../../controller/ledger/blocklist.js';
import { selectBans, type BanFilter } from '../../controller/ledger/select.js';
import { LEDGER_FILES, type BanEntry } from '../../controller/ledger/types.js';
import { parseCidr } from '../../controller/net/cidr.js';
import { removalLimit } from '../../controller/plan/removal-guard.js';
import { printable } from '../../controller/lib/printable.js';
import type { HostConfig } from '../../controller/config/host-config.js';

/** The networks of a blocklist file (`-`: stdin); a bad line stops everything with file:line. */
export function readBlocklist(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new InputError('E_BLOCKLIST', `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const list = parseBlocklist(text);
  const first = list.problems[0];
  if (first) {
    const more = list.problems.length > 1 ? ` (and ${list.problems.length - 1} more bad lines)` : '';
    throw new InputError('E_BLOCKLIST', `${path}:${first.line}: ${first.message}${more}; nothing was banned`);
  }
  if (list.cidrs.length === 0) throw new InputError('E_BLOCKLIST', `${path}: no address or CIDR in it; nothing to do`);
  return list.cidrs;
}

/** "12 networks (4,352 IPv4 addresses, 2 IPv6 networks)": what a bulk change touches. */
export function blastRadius(cidrs: readonly string[]): string {
  let v4 = 0;
  let v6 = 0;
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (p.family === 4) v4 += 2 ** (32 - p.prefix);
    else v6++;
  }
  const parts = [v4 > 0 ? `${v4.toLocaleString('en-US')} IPv4 address${v4 === 1 ? '' : 'es'}` : '', v6 > 0 ? `${v6} IPv6 network${v6 === 1 ? '' : 's'}` : ''].filter(Boolean);
  return `${cidrs.length} network${cidrs.length === 1 ? '' : 's'} (${parts.join(', ')})`;
}

/** A sample of what is touched, for the person to read before it goes. */
export function sample(entries: readonly string[], max = 10): string {
  const shown = entries.slice(0, max).map((e) => printable(e)).join(', ');
  return entries.length > max ? `${shown}, … (${entries.length - max} more)` : shown;
}

export interface UnbanSelection {
  selected: BanEntry[];
  held: number;
  /** the removal guard's limit for a change of this size, or undefined when none applies */
  limit: number | undefined;
  limitText: string;
  tip: string;
}

/** The bans the filter selects in the ledger at the remote tip, with the removal guard's limit. */
export async function selectAtTip(cfg: HostConfig, filter: BanFilter): Promise<UnbanSelection> {
  const { writerRepo } = await import('../../hooks/flush.js');
  const { ensureWriterRepo, fetchRemoteTip, readAt } = await import('../../controller/git/commit.js');
  const { parseLedgerFiles } = await import('../../controller/ledger/load.js');
  const repo = writerRepo(cfg);
  await ensureWriterRepo(repo);
  const tip = await fetchRemoteTip(repo);
  const files = await readAt(repo, tip, [LEDGER_FILES.bans, LEDGER_FILES.allow, LEDGER_FILES.policy]);
  const loaded = parseLedgerFiles(files, { dir: '.', rev: tip });
  if (loaded.problems.length > 0) {
    const p = loaded.problems[0]!;
    throw new InputError('E_LEDGER_INVALID', `the ledger at ${tip.slice(0, 12)} is invalid (${p.file}:${p.line}:${p.col}: ${p.message}); fix it first`);
  }
  const bans = loaded.ledger.bans;
  const limit = removalLimit(loaded.ledger.policy.maxRemovePerRun, bans.length);
  return { selected: selectBans(bans, filter), held: bans.length, limit: limit.max, limitText: limit.text, tip };
}
