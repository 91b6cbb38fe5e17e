/**
 * Pure text for the `ipset` driver: reading `ipset save` output and writing one
 * `ipset restore` batch. No I/O here, so both are unit-tested with string fixtures.
 */
import { cidrKey, type Family } from '../net/cidr.js';
import type { ObservedEntry, Plan } from './types.js';

/** ipset names are at most 31 characters; the driver adds `-v4` / `-v6`. */
export const SET_NAME_RE = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,27}$/;

/** Large enough for 100k+ bans; a set's maxelem cannot change after creation. */
export const DEFAULT_MAXELEM = 1_048_576;

export interface SetNames {
  4: string;
  6: string;
}

export function setNames(base: string): SetNames {
  return { 4: `${base}-v4`, 6: `${base}-v6` };
}

/**
 * Entries of one set from `ipset save SET`. hash:net prints a /32 (or /128) as a bare
 * address, which is already our canonical form; anything the kernel prints is re-canonicalised
 * anyway so spelling differences never cause churn.
 */
export function parseIpsetSave(text: string, set: string, family: Family): ObservedEntry[] {
  const out: ObservedEntry[] = [];
  const prefix = `add ${set} `;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const member = line.slice(prefix.length).split(' ')[0] ?? '';
    const cidr = cidrKey(member);
    if (cidr.family !== family) continue;
    out.push({ cidr: cidr.key, family });
  }
  return out;
}

function createLine(set: string, family: Family, maxelem: number): string {
  // -exist: creating an existing set with the same type is a no-op, never a flush.
  return `create ${set} hash:net family ${family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem ${maxelem} -exist`;
}

/**
 * One restore batch: create the sets that are missing, then deletes, then adds. Every line
 * carries -exist so replaying a batch, or a half-applied one, is harmless.
 */
export function renderIpsetRestore(
  plan: Plan,
  names: SetNames,
  maxelem = DEFAULT_MAXELEM,
  needsCreate: (set: string) => boolean = () => true,
): string {
  // An existing set is used as it is: `create -exist` fails when its maxelem differs.
  const lines = ([4, 6] as const).filter((f) => needsCreate(names[f])).map((f) => createLine(names[f], f, maxelem));
  for (const e of plan.remove) lines.push(`del ${names[e.family]} ${e.cidr} -exist`);
  for (const e of plan.add) lines.push(`add ${names[e.family]} ${e.cidr} -exist`);
  return lines.join('\n') + '\n';
}
