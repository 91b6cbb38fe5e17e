/**
 * Plain blocklists, as `ban --from-file` and `unban --from-file` read them: one address or CIDR
 * per line, comments after `#` or `;`, blank lines ignored; the format Spamhaus DROP
 * (`1.10.16.0/20 ; SBL256894`) and FireHOL (`# comment` then one CIDR per line) publish. Pure.
 */
import { CidrError, tryParseCidr } from '../net/cidr.js';

export interface BlocklistProblem {
  line: number;
  message: string;
}

export interface Blocklist {
  /** canonical keys, first appearance order, no duplicates */
  cidrs: string[];
  problems: BlocklistProblem[];
  /** lines naming a network already listed above */
  duplicates: number;
}

/** The networks of a blocklist text; every line that is not one is a problem with its number. */
export function parseBlocklist(text: string): Blocklist {
  const cidrs: string[] = [];
  const seen = new Set<string>();
  const problems: BlocklistProblem[] = [];
  let duplicates = 0;
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, i) => {
    const body = raw.replace(/\r$/, '').replace(/[#;].*$/, '').trim();
    if (body === '') return;
    const [token, ...rest] = body.split(/\s+/);
    if (rest.length > 0) {
      problems.push({ line: i + 1, message: `one address or CIDR per line, found ${rest.length + 1} words` });
      return;
    }
    const c = tryParseCidr(token!);
    if (c instanceof CidrError) {
      problems.push({ line: i + 1, message: c.message });
      return;
    }
    if (seen.has(c.key)) {
      duplicates++;
      return;
    }
    seen.add(c.key);
    cidrs.push(c.key);
  });
  return { cidrs, problems, duplicates };
}
