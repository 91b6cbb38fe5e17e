// Bench for issue 2: `fail2git list` (whole process) on 10,000- and 100,000-entry ledgers,
// targets ≤ 0.4 s and ≤ 1.5 s wall, reported as a ratio to `node -e ''` measured in the
// same run. Also times the full-YAML fallback on the 10k file (a hand-formatted ledger)
// so the gap the canonical fast path closes is visible.
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
    notes.push(`Median of ${RUNS} whole-process runs (3 for the fallback). Ledgers are generated in a temp dir: 90% IPv4 hosts, 10% IPv6 /64s, most with a TTL, plus a small allowlist.`);
    notes.push('Canonical files (what hooks, `ban` and `fmt` write) take the strict line parser; any other layout takes the `yaml` parser, and a property test holds both to the same values, positions and problems.');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { section: 'Ledger: `fail2git list` start-up and parsing (issue 2)', rows, notes };
}
