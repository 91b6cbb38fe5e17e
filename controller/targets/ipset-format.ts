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
  return parseSavedSet(text, set, family).entries;
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

// --- shape: what a set must be for the driver to use it as it is ---

/** What `ipset save SET` says about one set: its create line and members. */
export interface SavedSet {
  exists: boolean;
  /** `hash:net`, `hash:ip`, … */
  type?: string;
  /** `inet` / `inet6` */
  family?: string;
  maxelem?: number;
  /** a set-wide default timeout: members would expire in the kernel on their own */
  timeout?: number;
  /** members reported to the controller (never `nomatch` ones) */
  entries: ObservedEntry[];
  /** members marked `nomatch`: exceptions, which would un-ban instead of ban */
  nomatch: number;
}

const KERNEL_FAMILY = { 4: 'inet', 6: 'inet6' } as const;

export function parseSavedSet(text: string, set: string, family: Family): SavedSet {
  const out: SavedSet = { exists: false, entries: [], nomatch: 0 };
  const create = `create ${set} `;
  const add = `add ${set} `;
  for (const line of text.split('\n')) {
    if (line.startsWith(create)) {
      out.exists = true;
      const words = line.slice(create.length).split(' ');
      out.type = words[0];
      for (let i = 1; i < words.length - 1; i++) {
        if (words[i] === 'family') out.family = words[i + 1];
        else if (words[i] === 'maxelem') out.maxelem = Number(words[i + 1]);
        else if (words[i] === 'timeout') out.timeout = Number(words[i + 1]);
      }
    } else if (line.startsWith(add)) {
      // `add SET MEMBER` alone is the common line: no words to split (100k lines per observe)
      const rest = line.slice(add.length);
      const words = rest.includes(' ') ? rest.split(' ') : [rest];
      if (words.includes('nomatch')) {
        out.nomatch++;
        continue;
      }
      try {
        const cidr = cidrKey(words[0] ?? '');
        if (cidr.family === family) out.entries.push({ cidr: cidr.key, family });
      } catch {
        // a member no canonical key names (hash:ip,port and the like): the shape check says why
      }
    }
  }
  return out;
}

/**
 * Why a set cannot be used as it is, or undefined when it can. `swappable` says whether a
 * set of the right shape can take its place with `ipset swap` (the kernel swaps only sets of
 * the same type and family), so the repair needs no gap in enforcement and no rule change.
 */
export function shapeProblem(s: SavedSet, family: Family): { problem: string; swappable: boolean } | undefined {
  if (!s.exists) return undefined;
  const want = `hash:net family ${KERNEL_FAMILY[family]}`;
  if (s.type !== 'hash:net' || s.family !== KERNEL_FAMILY[family]) {
    return { problem: `is ${s.type ?? 'of an unknown type'}${s.family ? ` family ${s.family}` : ''}, not ${want}`, swappable: false };
  }
  if (s.timeout !== undefined && s.timeout > 0) return { problem: `has a default timeout of ${s.timeout}s (bans would expire in the kernel)`, swappable: true };
  if (s.nomatch > 0) return { problem: `holds ${s.nomatch} nomatch member(s) (exceptions that un-ban)`, swappable: true };
  return undefined;
}

/** `create` line for a set of the driver's own shape (no -exist: the name must be free). */
export function createSetLine(set: string, family: Family, maxelem: number): string {
  return `create ${set} hash:net family ${KERNEL_FAMILY[family]} hashsize 1024 maxelem ${maxelem}`;
}

/** maxelem for a set that must hold `count` members: room to double, never below the default. */
export function maxelemFor(count: number): number {
  return Math.max(DEFAULT_MAXELEM, 2 * count);
}

/** `Error in line N:` of a failed `ipset restore`, as a 1-based line number. */
export function failedRestoreLine(stderr: string): { line: number; why: string } | undefined {
  const m = /Error in line (\d+): (.*)/.exec(stderr);
  return m ? { line: Number(m[1]), why: m[2]!.trim() } : undefined;
}

/** `ipset list -t SET`: the header alone, without listing members. */
export interface SetHeader {
  type?: string;
  family?: string;
  maxelem?: number;
  timeout?: number;
  /** rules (iptables, other sets) that use the set */
  references: number;
  size: number;
}

export function parseSetHeader(text: string): SetHeader {
  const out: SetHeader = { references: 0, size: 0 };
  for (const line of text.split('\n')) {
    const [key, ...rest] = line.split(':');
    const value = rest.join(':').trim();
    if (key === 'Type') out.type = value;
    else if (key === 'References') out.references = Number(value) || 0;
    else if (key === 'Number of entries') out.size = Number(value) || 0;
    else if (key === 'Header') {
      const words = value.split(/\s+/);
      for (let i = 0; i < words.length - 1; i++) {
        if (words[i] === 'family') out.family = words[i + 1];
        else if (words[i] === 'maxelem') out.maxelem = Number(words[i + 1]);
        else if (words[i] === 'timeout') out.timeout = Number(words[i + 1]);
      }
    }
  }
  return out;
}
