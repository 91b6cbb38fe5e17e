// The per-target enforced set (controller/plan/enforced-set.ts, issue 13 items 4 and 5): at
// 100k desired entries, folding covered entries (done once per run, shared by every target)
// and, for a full target, ranking and cutting to capacity. Baseline: diff() of the same
// entries against an empty target, the step every run already pays. Bundled with esbuild,
// like bench/targets.mjs, so the bench does not depend on dist/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { median } from './lib/stats.mjs';

async function load(root, out, entry) {
  const file = join(out, entry.replace(/[/.]/g, '_') + '.mjs');
  await build({ entryPoints: [join(root, entry)], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: file, logLevel: 'error' });
  return import(pathToFileURL(file).href);
}

/** n entries in address order: IPv4 hosts with every 10th /24 covering the next ones, and IPv6 /64s. */
function desired(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const at = new Date(1.75e12 + i * 1000).toISOString();
    const base = { jail: 'sshd', expires: '2030-01-01T00:00:00Z', at };
    if (i % 10 === 9) out.push({ cidr: `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`, family: 6, ...base });
    else out.push({ cidr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, family: 4, ...base });
  }
  return out;
}

const time = (fn, reps = 5) => median(Array.from({ length: reps }, () => {
  const t = performance.now();
  fn();
  return performance.now() - t;
}));

export async function run({ root }) {
  const out = mkdtempSync(join(tmpdir(), 'f2g-bench-es-'));
  try {
    const { enforcedSet } = await load(root, out, 'controller/plan/enforced-set.ts');
    const { diff } = await load(root, out, 'controller/plan/diff.ts');
    const d = desired(100_000);
    const base = time(() => diff(d, []));
    // a fresh array each time: the fold is cached per desired list
    const fold = time(() => enforcedSet(d.slice()));
    const cap = time(() => enforcedSet(d.slice(), () => 50_000));
    return {
      section: 'enforced set (100k desired entries)',
      rows: [
        { name: 'diff against an empty target (baseline)', value: base, unit: 'ms' },
        { name: 'fold covered entries (once per run)', value: fold, unit: 'ms', baseline: base, ratio: fold / base },
        { name: 'fold, rank and cut a full target to 50k', value: cap, unit: 'ms', baseline: base, ratio: cap / base },
      ],
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
