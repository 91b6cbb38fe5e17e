/**
 * What may reach a terminal or a rendered page unchanged. Values printed by fail2git come
 * from git (ledger strings, commit authors, fleet records), which anyone who can push or open
 * a pull request writes: printed raw, a newline forges a line, ESC drives the terminal, a
 * bidirectional override reorders what a reviewer reads, and `<!--` hides the rest of a
 * Markdown summary. Every text renderer passes such values through `printable` (terminals,
 * logs) or `markdownText` (GitHub/GitLab summaries).
 */

// C0 and C1 controls (newline, tab, ESC…), DEL, line/paragraph separators, bidirectional
// overrides and isolates, and the byte order mark.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
// eslint-disable-next-line no-control-regex
const UNPRINTABLE_ALL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The first unprintable character of `text` as `U+XXXX`, or undefined. */
export function unprintableIn(text: string): string | undefined {
  const m = UNPRINTABLE.exec(text);
  return m ? `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : undefined;
}

/** `text` with every unprintable character written as an escape (`\n`, `\x1b`, `\u202e`): one line, inert. */
export function printable(text: string): string {
  if (!UNPRINTABLE.test(text)) return text;
  return text.replace(UNPRINTABLE_ALL, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/**
 * `text` as inert Markdown (CommonMark / GitHub): unprintable characters escaped as by
 * `printable`, HTML's `& < > "` as entities (so no tag or comment opens), and the
 * punctuation that has meaning inside a line backslash-escaped (no emphasis, link, image,
 * code span, strikethrough or table cell). It renders as the text itself. Meant for values
 * inside a line that fail2git starts (a list item, after a label).
 */
export function markdownText(text: string): string {
  return printable(text)
    .replace(/[&<>"]/g, (c) => HTML[c]!)
    .replace(/[\\`*_{}[\]#!|~]/g, (c) => `\\${c}`);
}
