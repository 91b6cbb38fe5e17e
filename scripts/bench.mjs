#!/usr/bin/env node
// `npm run bench`: runs every bench/*.mjs module, prints the figures, writes BENCHMARKS.md.
// A module exports `async function run({ root, log })` returning
//   { section, rows: [{ name, value, unit, baseline?, ratio?, target?, ok? }], notes?: [] }
// Baselines (raw `ipset restore`, bare `node` start-up, ...) are measured in the same run.
// Usage: npm run bench [-- NAME...]   (names match bench/<name>.mjs)
// A partial run replaces only its own sections in BENCHMARKS.md (or appends them), each marked
// with the date and machine it was measured on; the others are kept as they were.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
const files = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.mjs')).sort()
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.mjs$/, '')));

const log = (line) => process.stderr.write(`bench: ${line}\n`);
const sections = [];
for (const f of files) {
  log(`running ${f}`);
  const mod = await import(pathToFileURL(join(root, 'bench', f)).href);
  try {
    sections.push(await mod.run({ root, log }));
  } catch (err) {
    sections.push({ section: f, rows: [], notes: [`FAILED: ${err?.message ?? err}`] });
  }
}

const fmt = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3).replace(/\.?0+$/, '')) : String(v ?? ''));
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ${execFileSync('uname', ['-sr']).toString().trim()}`;
const today = new Date().toISOString().slice(0, 10);
const lines = [
  '# Benchmarks',
  '',
  `Measured by \`npm run bench\` on ${today}: ${machine}.`,
  'Each ratio is against a baseline measured in the same run. `ok` compares with the target named in the issue.',
  '',
];
/** One section's markdown (ending in a blank line). */
function sectionText(s, partial) {
  const out = [`## ${s.section}`, ''];
  if (partial) out.push(`Measured by \`npm run bench -- ${partial}\` on ${today}: ${machine}.`, '');
  out.push('| measure | value | unit | baseline | ratio | target | ok |', '|---|---|---|---|---|---|---|');
  for (const r of s.rows) {
    out.push(`| ${r.name} | ${fmt(r.value)} | ${r.unit ?? ''} | ${fmt(r.baseline)} | ${r.ratio === undefined ? '' : fmt(r.ratio) + '×'} | ${r.target ?? ''} | ${r.ok === undefined ? '' : r.ok ? 'yes' : '**no**'} |`);
  }
  for (const n of s.notes ?? []) out.push('', n);
  out.push('');
  return out.join('\n');
}
for (const s of sections) lines.push(sectionText(s));
const text = lines.join('\n');
process.stdout.write(text + '\n');
const out = join(root, 'BENCHMARKS.md');
if (only.length === 0) writeFileSync(out, text);
else if (existsSync(out)) {
  // Replace each section run now (same heading) in place, or append it; keep the rest.
  let doc = readFileSync(out, 'utf8');
  for (const [i, s] of sections.entries()) {
    if (s.rows.length === 0) continue; // a failed section does not replace measured figures
    const fresh = sectionText(s, files[i].replace(/\.mjs$/, ''));
    const start = doc.indexOf(`\n## ${s.section}\n`);
    if (start < 0) {
      doc = doc.replace(/\n*$/, '\n\n') + fresh;
      continue;
    }
    const next = doc.indexOf('\n## ', start + 1);
    doc = doc.slice(0, start + 1) + fresh + (next < 0 ? '' : '\n' + doc.slice(next + 1));
  }
  writeFileSync(out, doc.replace(/\n{3,}/g, '\n\n'));
  log(`partial run: its sections replaced in BENCHMARKS.md (run without names to refresh all)`);
}
