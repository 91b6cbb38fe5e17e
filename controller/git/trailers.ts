/**
 * Commit trailers: the structured lines every writer (the hook's flusher, `ban`/`unban`, gc)
 * puts on a ledger commit, and their one reader (`audit`, the flusher's redelivery check):
 *
 *     Fail2git-Op: ban
 *     Fail2git-Cidr: 203.0.113.7
 *     Fail2git-Jail: sshd
 *     Fail2git-Host: web1
 *     Fail2git-Expires: 2026-11-25T10:00:00Z
 *
 * One block per operation; a `Fail2git-Op` line starts the next block. Blocks are read from
 * the whole body (not only git's last-paragraph trailer block), so a writer may separate them
 * with blank lines. `Fail2git-Delivered: ID` records an operation delivered without a change.
 * Pure.
 */

/** One operation recorded in a commit's trailers; keys are lower-case without the prefix. */
export interface TrailerOp {
  op: string;
  fields: Record<string, string>;
}

/** Trailer values are one line: anything else would forge or break the next trailer. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t\x00-\x1f\x7f]+/g, ' ').trim().slice(0, 200);
}

/**
 * One operation's trailer lines: `Fail2git-Op: <op>`, then each field in the order given
 * (`['Cidr', '203.0.113.7']` → `Fail2git-Cidr: 203.0.113.7`); undefined values are left out.
 */
export function trailerBlock(op: string, fields: readonly (readonly [name: string, value: string | number | undefined])[]): string[] {
  const lines = [`Fail2git-Op: ${oneLine(op)}`];
  for (const [name, value] of fields) if (value !== undefined) lines.push(`Fail2git-${name}: ${oneLine(String(value))}`);
  return lines;
}

/** The line recording an operation delivered without changing the ledger (never applied again). */
export function deliveredTrailer(id: string): string {
  return `Fail2git-Delivered: ${oneLine(id)}`;
}

const TRAILER = /^Fail2git-([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*?)\s*$/;

/** The operations in a commit body, in order. Fields before the first `Op` are ignored. */
export function parseTrailers(body: string): TrailerOp[] {
  const ops: TrailerOp[] = [];
  if (!body.includes('Fail2git-')) return ops;
  let current: TrailerOp | undefined;
  for (const line of body.split('\n')) {
    if (!line.startsWith('Fail2git-')) continue;
    const m = TRAILER.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!;
    if (key === 'op') {
      current = { op: value.toLowerCase(), fields: {} };
      ops.push(current);
    } else if (current && !(key in current.fields)) {
      current.fields[key] = value;
    }
  }
  return ops;
}

const ID_LINE = /^Fail2git-(?:Id|Delivered):[ \t]*(\S+)\s*$/gm;

/** Operation ids recorded in commit messages (any text containing them). */
export function deliveredIds(text: string): Set<string> {
  const ids = new Set<string>();
  for (const m of text.matchAll(ID_LINE)) ids.add(m[1]!);
  return ids;
}
