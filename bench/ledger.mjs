// Bench for issue 2: `fail2git list` (whole process) on 10,000- and 100,000-entry ledgers,
// targets ≤ 0.4 s and ≤ 1.5 s wall, reported as a ratio to `node -e ''` measured in the
// same run. Also times the full-YAML fallback on the 10k file (a hand-formatted ledger)
// so the gap the canonical fast path closes is visible.
// Issue 13 item 2: `fail2git validate` time and peak memory at the size limits: a canonical
// BanList at the 64 MiB file limit (the baseline), other layouts at their 2 MiB limit (the
// usual block layout and the worst shape for the YAML parser, flow lists of small
// numbers), each ≤ 3× the baseline, and a 50 MB block-layout file refused quickly.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './lib/stats.mjs';

const RUNS = 7;
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function time(args, check = true) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (check && r.status !== 0) throw new Error(`${args.join(' ').slice(0, 80)} failed: ${r.stderr.trim().slice(0, 300)}`);
  return { s, stdout: r.stdout };
}

/** A canonical BanList of n hook bans: distinct addresses, mixed families, sorted as fmt writes. */
function canonicalLedger(n) {
  const now = Date.UTC(2026, 10, 22, 9);
  const v4 = Math.ceil(n * 0.9);
  const lines = [];
  for (let i = 0; i < v4; i++) {
    const a = 11 + Math.floor(i / 65536), b = Math.floor(i / 256) % 256, c = i % 256;
    const exp = i % 10 === 0 ? '' : `, expires: ${iso(now + ((i % 97) + 1) * 3600_000)}`;
    lines.push(`  - {cidr: ${a}.${b}.${c}.7${exp}, at: ${iso(now - (i % 500) * 60_000)}, by: web${i % 7}, jail: sshd, count: ${(i % 5) + 1}}`);
  }
  for (let i = 0; i < n - v4; i++) {
    lines.push(`  - {cidr: "2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64", expires: ${iso(now + 86_400_000)}, at: ${iso(now)}, by: mail1, jail: postfix}`);
  }
  return `# bench ledger\napiVersion: fail2git/v1\nkind: BanList\nbans:\n${lines.join('\n')}\n`;
}

function writeLedger(dir, active) {
  mkdirSync(join(dir, 'bans'), { recursive: true });
  writeFileSync(join(dir, 'bans/active.yaml'), active);
  writeFileSync(join(dir, 'bans/allow.yaml'), 'apiVersion: fail2git/v1\nkind: AllowList\nallow:\n  - {cidr: 192.0.2.0/28, reason: management}\n');
  writeFileSync(join(dir, 'bans/policy.yaml'), 'apiVersion: fail2git/v1\nkind: Policy\nspec: {defaultTtl: 1h}\n');
}

// Whole-process wall time and peak RSS of one CLI run (the preload reports maxRSS at exit).
const RSS_HOOK = 'data:text/javascript,process.on("exit",()=>process.stderr.write(`\\nmaxrss=${process.resourceUsage().maxRSS}\\n`))';
function measure(cli, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', RSS_HOOK, cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const kb = Number(/maxrss=(\d+)\s*$/.exec(r.stderr)?.[1] ?? NaN);
  return { s, mb: kb / 1024, out: r.stdout + r.stderr };
}

/** The `n`-entry ledger with its entries written as block mappings (a hand-written layout). */
function blockLedger(n) {
  return canonicalLedger(n).replace(/^ {2}- \{(.*)\}$/gm, (_, body) => `  - ${body.split(', ').join('\n    ')}`);
}

/** Whole text of `bytes` or just under it, made of `unit` repeated after the BanList head. */
function fill(bytes, unit) {
  const head = 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n';
  return head + unit.repeat(Math.floor((bytes - head.length) / unit.length));
}

async function limits({ root, log, tmp }) {
  const cli = join(root, 'dist/bin/fail2git.js');
  const { MAX_FILE_BYTES } = await import(join(root, 'dist/controller/ledger/text.js'));
  const { MAX_YAML_BYTES } = await import(join(root, 'dist/controller/ledger/yaml-parse.js'));
  const at = (name, text) => {
    const dir = join(tmp, name);
    writeLedger(dir, text);
    return ['validate', '--ledger', dir];
  };
  const best = (args, runs) => {
    const xs = Array.from({ length: runs }, () => measure(cli, args));
    return { s: median(xs.map((x) => x.s)), mb: Math.max(...xs.map((x) => x.mb)), out: xs[0].out };
  };
  // canonical: the largest canonical file under the limit (~110 bytes per entry)
  let n = Math.floor(MAX_FILE_BYTES / 112);
  let text = canonicalLedger(n);
  while (Buffer.byteLength(text) > MAX_FILE_BYTES) text = canonicalLedger((n = Math.floor(n * 0.98)));
  const base = best(at('canon64', text), 3);
  if (!/^ok: /m.test(base.out)) throw new Error(`canonical ledger at the limit did not validate: ${base.out.slice(0, 300)}`);
  log(`canonical ${n} entries (${(Buffer.byteLength(text) / 2 ** 20).toFixed(1)} MiB): ${base.s.toFixed(2)} s, ${base.mb.toFixed(0)} MB`);
  const rows = [
    { name: `validate, canonical BanList at the ${MAX_FILE_BYTES / 2 ** 20} MiB limit (${n.toLocaleString('en')} entries): time (baseline)`, value: base.s, unit: 's' },
    { name: 'validate, canonical BanList at the limit: peak memory (baseline)', value: base.mb, unit: 'MB' },
  ];
  let m = Math.floor(MAX_YAML_BYTES / 120);
  let block = blockLedger(m);
  while (Buffer.byteLength(block) > MAX_YAML_BYTES) block = blockLedger((m = Math.floor(m * 0.98)));
  const shapes = [
    [`block layout at the ${MAX_YAML_BYTES / 2 ** 20} MiB limit for other layouts (${m.toLocaleString('en')} entries)`, block],
    ['worst shape for the YAML parser at that limit (flow lists of small numbers)', fill(MAX_YAML_BYTES, `  - [${'1,'.repeat(30_000)}1]\n`)],
  ];
  for (const [label, t] of shapes) {
    const r = best(at(`yaml${rows.length}`, t), 1);
    if (/read only up to|refusing/.test(r.out)) throw new Error(`${label}: refused, expected a parse: ${r.out.slice(0, 200)}`);
    log(`${label}: ${r.s.toFixed(2)} s, ${r.mb.toFixed(0)} MB`);
    rows.push({ name: `validate, ${label}: time`, value: r.s, unit: 's', baseline: base.s, ratio: r.s / base.s, target: '≤ 3× canonical at the limit', ok: r.s <= 3 * base.s });
    rows.push({ name: `validate, ${label}: peak memory`, value: r.mb, unit: 'MB', baseline: base.mb, ratio: r.mb / base.mb, target: '≤ 3× canonical at the limit', ok: r.mb <= 3 * base.mb });
  }
  const big = blockLedger(430_000);
  const r = best(at('block50', big), 1);
  const refused = /leaves the canonical layout here; .*run fail2git fmt/.test(r.out);
  log(`50 MB block layout: ${r.s.toFixed(2)} s, ${r.mb.toFixed(0)} MB, refused: ${refused}`);
  rows.push({ name: `validate, ${(Buffer.byteLength(big) / 2 ** 20).toFixed(0)} MiB block layout: refused (pointing to fmt) in`, value: r.s, unit: 's', baseline: base.s, ratio: r.s / base.s, target: 'refused, ≤ 3×', ok: refused && r.s <= 3 * base.s });
  rows.push({ name: `validate, ${(Buffer.byteLength(big) / 2 ** 20).toFixed(0)} MiB block layout: peak memory`, value: r.mb, unit: 'MB', baseline: base.mb, ratio: r.mb / base.mb, target: '≤ 3×', ok: r.mb <= 3 * base.mb });
  return rows;
}

export async function run({ root, log }) {
  const cli = join(root, 'dist/bin/fail2git.js');
  const tmp = mkdtempSync(join(tmpdir(), 'bench-ledger-'));
  const rows = [];
  const notes = [];
  try {
    const baseline = median(Array.from({ length: RUNS }, () => time(['-e', '']).s));
    rows.push({ name: "`node -e ''` start-up (baseline)", value: baseline, unit: 's' });
    for (const [n, target] of [[10_000, 0.4], [100_000, 1.5]]) {
      const dir = join(tmp, `l${n}`);
      writeLedger(dir, canonicalLedger(n));
      const args = [cli, 'list', '--ledger', dir, '--at', '2026-11-22T10:30:00Z'];
      const first = time(args);
      const listed = first.stdout.split('\n').filter(Boolean).length;
      if (listed < n * 0.5) throw new Error(`list printed only ${listed} of ${n} entries`);
      const s = median(Array.from({ length: RUNS }, () => time(args).s));
      log(`list ${n}: ${s.toFixed(3)} s (${listed} listed)`);
      rows.push({ name: `\`fail2git list\`, ${n.toLocaleString('en')} entries (canonical layout)`, value: s, unit: 's', baseline, ratio: s / baseline, target: `≤ ${target} s`, ok: s <= target });
    }
    // The same 10k ledger, but hand-formatted (block mappings): the full YAML parser path.
    const dir = join(tmp, 'yaml10k');
    const block = canonicalLedger(10_000).replace(/^ {2}- \{(.*)\}$/gm, (_, body) => `  - ${body.split(', ').join('\n    ')}`);
    writeLedger(dir, block);
    const slow = median(Array.from({ length: 3 }, () => time([cli, 'list', '--ledger', dir, '--at', '2026-11-22T10:30:00Z']).s));
    rows.push({ name: '`fail2git list`, 10,000 entries, hand-formatted (full YAML fallback)', value: slow, unit: 's', baseline, ratio: slow / baseline });
    rows.push(...(await limits({ root, log, tmp })));
    notes.push(`Median of ${RUNS} whole-process runs (3 for the fallback). Ledgers are generated in a temp dir: 90% IPv4 hosts, 10% IPv6 /64s, most with a TTL, plus a small allowlist.`);
    notes.push('Canonical files (what hooks, `ban` and `fmt` write) take the strict line parser; any other layout takes the `yaml` parser, and a property test holds both to the same values, positions and problems.');
    notes.push('Size limits: every ledger file is refused above 64 MiB; a file not in canonical layout (and allow.yaml, policy.yaml, targets.yaml, which always take the YAML parser) above 2 MiB, because the `yaml` parser costs ~3 s and ~500 MB per MiB of small nodes. `fail2git fmt` reads any size and rewrites active.yaml canonically. The validate rows are whole-process wall time (median of 3 for the baseline, one run otherwise) and peak RSS.');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { section: 'Ledger: `fail2git list` start-up and parsing (issue 2)', rows, notes };
}
