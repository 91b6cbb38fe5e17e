/**
 * Byte-exact text of kernel state inside a namespace, minus what one fail2git target owns.
 * "Foreign state untouched" means these strings are equal before and after.
 */
import type { Netns } from './netns.js';

/**
 * `nft list ruleset` without the block of `table inet <table>`. With `skipXtables`, also
 * without the tables iptables-nft keeps (`ip filter`, `ip6 filter`): there our ipset DROP
 * rules show only as an anonymous `xt match set`, so compare those via xtablesExcept().
 */
export async function nftRulesetExcept(ns: Netns, table: string, skipXtables = false): Promise<string> {
  let text = dropBlock((await ns.run('nft', ['list', 'ruleset'])).stdout, `table inet ${table} {`);
  if (skipXtables) text = dropBlock(dropBlock(text, 'table ip filter {'), 'table ip6 filter {');
  return text;
}

export function dropBlock(text: string, header: string): string {
  const out: string[] = [];
  let skipping = false;
  for (const line of text.split('\n')) {
    if (line === header) skipping = true;
    if (!skipping) out.push(line);
    if (skipping && line === '}') skipping = false;
  }
  return out.join('\n');
}

/** `ipset save` of every set except ours (and without the `initval`, which is random per set, fixed after creation). */
export async function ipsetSaveExcept(ns: Netns, ours: readonly string[]): Promise<string> {
  const text = (await ns.run('ipset', ['save'])).stdout;
  return text.split('\n').filter((l) => !ours.some((s) => l.startsWith(`create ${s} `) || l.startsWith(`add ${s} `))).join('\n');
}

/** iptables-save and ip6tables-save without counters/comments and without rules naming our sets. */
export async function xtablesExcept(ns: Netns, ours: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const text = (await ns.run(tool, [])).stdout;
    parts.push(text.split('\n').filter((l) => !l.startsWith('#') && !ours.some((s) => l.includes(` ${s} `))).map((l) => l.replace(/\[\d+:\d+\]/, '')).join('\n'));
  }
  return parts.join('\n');
}

/** `ip route show table all` for both families, without routes of our proto. */
export async function routesExcept(ns: Netns, proto: number): Promise<string> {
  const parts: string[] = [];
  for (const fam of ['-4', '-6']) {
    const text = (await ns.run('ip', [fam, 'route', 'show', 'table', 'all'])).stdout;
    parts.push(text.split('\n').filter((l) => !l.includes(` proto ${proto} `) && !l.endsWith(` proto ${proto}`)).join('\n'));
  }
  return parts.join('\n');
}
