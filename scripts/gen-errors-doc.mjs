#!/usr/bin/env node
// Writes docs/errors.md from ERROR_CODES (controller/lib/errors.ts, built in dist/).
// Run after `npm run build` whenever a code is added: node scripts/gen-errors-doc.mjs
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { ERROR_CODES } = await import(new URL('../dist/controller/lib/errors.js', import.meta.url).href);
const intro = {
  'fix the input': 'A person fixes their command or the ledger; nothing was changed.',
  'fix the host': "The host's own setup: config, programs, permissions, files. `fail2git doctor` checks most of it.",
  retry: 'Transient: fail2git tries again by itself (the next flush, the next run); nothing to do unless it persists.',
  hold: 'Reconcile keeps enforcing the last good state until a person acts.',
};
const groups = Object.fromEntries(Object.keys(intro).map((k) => [k, []]));
for (const [code, { next, means }] of Object.entries(ERROR_CODES)) groups[next].push(`| \`${code}\` | ${means.replace(/\|/g, '\\|')} |`);
let out = '# Error codes\n\nEvery error fail2git reports carries one of these codes (`code` on the error, in `status.json` and in `fail2git validate` problems), grouped by what happens next. The list is `ERROR_CODES` in [controller/lib/errors.ts](../controller/lib/errors.ts); a code that is not in it fails the build and `test/architecture/error-codes.test.ts`, which also checks this page lists every code (regenerate it with `node scripts/gen-errors-doc.mjs` after `npm run build`).\n';
for (const [g, rows] of Object.entries(groups)) out += `\n## ${g}\n\n${intro[g]}\n\n| code | means |\n|---|---|\n${rows.join('\n')}\n`;
writeFileSync(fileURLToPath(new URL('../docs/errors.md', import.meta.url)), out);
