#!/usr/bin/env node
// `npm run bench`: runs every bench/*.mjs module, prints the figures, writes BENCHMARKS.md.
// A module exports `async function run({ root, log })` returning
//   { section, rows: [{ name, value, unit, baseline?, ratio?, target?, ok? }], notes?: [] }
// Baselines (raw `ipset restore`, bare `node` start-up, ...) are measured in the same run.
// Usage: npm run bench [-- NAME...]   (names match bench/<name>.mjs)
import { readdirSync, writeFileSync } from 'node:fs';
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
const lines = [
  '# Benchmarks',
  '',
  `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ${execFileSync('uname', ['-sr']).toString().trim()}.`,
  'Each ratio is against a baseline measured in the same run. `ok` compares with the target named in the issue.',
  '',
];
for (const s of sections) {
  lines.push(`## ${s.section}`, '', '| measure | value | unit | baseline | ratio | target | ok |', '|---|---|---|---|---|---|---|');
  for (const r of s.rows) {
    lines.push(`| ${r.name} | ${fmt(r.value)} | ${r.unit ?? ''} | ${fmt(r.baseline)} | ${r.ratio === undefined ? '' : fmt(r.ratio) + '×'} | ${r.target ?? ''} | ${r.ok === undefined ? '' : r.ok ? 'yes' : '**no**'} |`);
  }
  for (const n of s.notes ?? []) lines.push('', n);
  lines.push('');
}
const text = lines.join('\n');
process.stdout.write(text + '\n');
if (only.length === 0) writeFileSync(join(root, 'BENCHMARKS.md'), text);
else log('partial run: BENCHMARKS.md not rewritten (run without names to refresh it)');
