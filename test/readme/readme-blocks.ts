/**
 * The README's install steps as data: the fenced code blocks under a heading, and the one
 * mechanical rewrite that lets them run in a sandbox instead of on the host.
 *
 * The test reads README.md every run, so when the README changes the test runs the new text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/git.js';

export interface CodeBlock {
  /** the info string after the opening fence (`sh`, `ini`, `yaml`, or '') */
  lang: string;
  code: string;
}

export function readReadme(): string {
  return readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
}

const HEADING = /^(#{1,6})\s+(.*)$/;

/**
 * The text directly under the heading that starts with `title` (e.g. "### 2. A fail2ban host"
 * matches "### 2. A fail2ban host (…)"), up to the next heading of any level, so a section's
 * own blocks are not mixed with its subsections'. Fenced code is skipped when looking for
 * headings (a `#` comment in a shell block is not a heading).
 */
export function sectionText(markdown: string, title: string): string {
  const lines = markdown.split('\n');
  let start = -1;
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) inFence = !inFence;
    if (inFence || !HEADING.test(line)) continue;
    if (start >= 0) return lines.slice(start, i).join('\n');
    if (line.startsWith(title)) start = i + 1;
  }
  if (start < 0) throw new Error(`README.md has no heading starting with "${title}"`);
  return lines.slice(start).join('\n');
}

/** Every fenced code block in `text`, in order. */
export function fencedBlocks(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const re = /^```([^\n`]*)\n([\s\S]*?)^```\s*$/gm;
  for (const m of text.matchAll(re)) blocks.push({ lang: m[1]!.trim(), code: m[2]! });
  return blocks;
}

/** The blocks under `title` in `lang`; throws when there are none (the README lost a step). */
export function blocksUnder(markdown: string, title: string, lang: string): string[] {
  const found = fencedBlocks(sectionText(markdown, title)).filter((b) => b.lang === lang).map((b) => b.code);
  if (found.length === 0) throw new Error(`README.md: no \`\`\`${lang} block under "${title}"`);
  return found;
}

/** The README's example remote; the sandbox swaps it for a real bare repository. */
export const EXAMPLE_REMOTE = 'git@git.example.com:ops/ledger.git';

/** Host directories the install steps write to. Only these are moved into the sandbox. */
export const HOST_PREFIXES = ['/etc/', '/usr/local/', '/var/lib/', '/var/www/'] as const;

// A host path starts the text or follows a character that cannot be part of a path
// (space, quote, `=`, `:`, `(`, `{`, `,`, `>`, backtick), so `<root>/etc/…` is never
// rewritten twice and `#!/bin/sh` or `dist/bundle/.` stay as they are.
const HOST_PATH = new RegExp(
  `(^|[\\s'"=:({,>\`])(${HOST_PREFIXES.map((p) => p.replace(/\//g, '\\/')).join('|')})`,
  'gm',
);

/**
 * The sandbox rewrite, the only change made to README text before it runs:
 * - every absolute path under /etc/, /usr/local/, /var/lib/ or /var/www/ becomes
 *   `<root>/etc/…` (and so on), where `root` is a temp dir standing for `/`;
 * - the example remote URL becomes `remote` (a real bare repository on disk).
 * Everything else is kept verbatim.
 */
export function sandboxed(text: string, root: string, remote: string): string {
  return text.split(EXAMPLE_REMOTE).join(remote).replace(HOST_PATH, (_m, before: string, prefix: string) => `${before}${root}${prefix}`);
}

/** `ExecStart=` of a systemd unit, split into argv (fail2git's units use no quoting). */
export function execStart(unitText: string): string[] {
  const line = unitText.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error('unit has no ExecStart=');
  return line.slice('ExecStart='.length).trim().split(/\s+/);
}
