/**
 * Canonical layout of an AllowList: the same shape as a BanList (header, one flow mapping
 * per line, sorted by address), so both files read and diff alike.
 */
import { compareCidr, parseCidr } from '../net/cidr.js';
import { API_VERSION, type AllowEntry } from './types.js';
import { formatScalar, quote } from './scalars.js';

export function formatHeader(header: string): string {
  if (header === '') return '';
  const lines = header.replace(/\n$/, '').split('\n');
  return lines.map((l) => (l.trim() === '' || l.trimStart().startsWith('#') ? l : `# ${l}`)).join('\n') + '\n';
}

export function formatAllowList(allow: readonly AllowEntry[], header = ''): string {
  const sorted = allow.map((a) => ({ a, c: parseCidr(a.cidr) })).sort((x, y) => compareCidr(x.c, y.c));
  const lines = [`apiVersion: ${API_VERSION}`, 'kind: AllowList'];
  if (sorted.length === 0) lines.push('allow: []');
  else {
    lines.push('allow:');
    for (const { a, c } of sorted) {
      const cidr = c.key.includes(':') ? quote(c.key) : c.key;
      lines.push(a.reason === undefined ? `  - {cidr: ${cidr}}` : `  - {cidr: ${cidr}, reason: ${formatScalar(a.reason)}}`);
    }
  }
  return formatHeader(header) + lines.join('\n') + '\n';
}
