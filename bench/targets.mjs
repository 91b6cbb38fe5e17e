// Linux drivers (issue 4): for 1k, 10k and 100k bans, per driver (ipset, nftables, route):
// cold apply (observe + diff + apply into an empty namespace), no-change run (observe +
// empty diff), one-change run (observe + diff + apply of one add and one remove) and a mass
// expiry (half the entries removed in one run).
// Baseline: a raw `ipset restore` of the same entries, timed in the same run and namespace
// set-up; issue target: cold apply of 100k to ipset ≤ 2 × raw. Every measurement runs in a
// fresh network namespace, never on the host's own firewall. The TypeScript drivers are
// bundled with esbuild into a temp dir, so the bench does not depend on the state of dist/.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const SIZES = (process.env.F2G_BENCH_SIZES ?? "1000,10000,100000").split(",").map(Number);

async function load(root, out, entry) {
  const file = join(out, entry.replace(/[/.]/g, '_') + '.mjs');
  await build({ entryPoints: [join(root, entry)], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: file, logLevel: 'error' });
  return import(pathToFileURL(file).href);
}

/** n disjoint bans, canonical keys: 80 % IPv4 hosts, 10 % IPv4 /24s, 10 % IPv6 /64s. */
function bans(n, canonical) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(i / 10);
    if (i % 10 < 8) out.push({ cidr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, family: 4 });
    else if (i % 10 === 8) out.push({ cidr: `100.${64 + ((k >> 8) & 63)}.${k & 255}.0/24`, family: 4 });
    else out.push({ cidr: `2001:db8:${(k >> 16).toString(16)}:${(k & 0xffff).toString(16)}::/64`, family: 6 });
  }
  return out.map((e) => ({ ...e, cidr: canonical(e.cidr) }));
}

async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

function netns(exec) {
  const name = `f2gbench-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  execFileSync('ip', ['netns', 'add', name]);
  // Every program inside the namespace (as test/helpers/netns.ts's netnsRunner does).
  const run = (cmd, args, opts) => exec.execRunner('ip', ['netns', 'exec', name, cmd, ...args], opts);
  return { name, run, destroy: () => execFileSync('ip', ['netns', 'delete', name]) };
}

const deps = (run) => ({ run, now: () => new Date(), host: 'bench', log: { info() {}, warn() {}, error() {} } });

/** The reconciler's per-target pass: observe, diff, apply unless empty. */
async function pass(target, diff, desired) {
  const plan = diff.diff(desired, await target.observe());
  if (plan.add.length + plan.remove.length > 0) await target.apply(plan);
  return plan;
}

async function rawRestore(exec, entries) {
  const ns = netns(exec);
  try {
    const lines = ['create raw-v4 hash:net family inet maxelem 1048576', 'create raw-v6 hash:net family inet6 maxelem 1048576',
      ...entries.map((e) => `add raw-v${e.family} ${e.cidr}`)];
    const { ms } = await timed(() => ns.run('ipset', ['restore'], { input: lines.join('\n') + '\n', timeoutMs: 600_000 }));
    return ms;
  } finally {
    ns.destroy();
  }
}

async function measure(mods, driver, entries) {
  const ns = netns(mods.exec);
  try {
    const target = mods[driver].factory('bench', mods[driver].options, deps(ns.run));
    const cold = await timed(() => pass(target, mods.diff, entries));
    const noop = await timed(() => pass(target, mods.diff, entries));
    if (noop.value.add.length + noop.value.remove.length !== 0) throw new Error(`${driver}: no-change run planned changes`);
    const changed = [...entries.slice(1), { cidr: '198.51.100.77', family: 4 }];
    const one = await timed(() => pass(target, mods.diff, changed));
    if (one.value.add.length !== 1 || one.value.remove.length !== 1) throw new Error(`${driver}: one-change run planned ${one.value.add.length}+${one.value.remove.length}`);
    // a mass expiry: half the bans leave at once (the removal guard's default limit)
    const half = await timed(() => pass(target, mods.diff, changed.filter((_, i) => i % 2 === 0)));
    if (half.value.remove.length !== Math.floor(changed.length / 2)) throw new Error(`${driver}: mass expiry planned ${half.value.remove.length} removals`);
    return { cold: cold.ms, noop: noop.ms, one: one.ms, half: half.ms };
  } finally {
    ns.destroy();
  }
}

export async function run({ root, log }) {
  const out = mkdtempSync(join(tmpdir(), 'f2g-bench-targets-'));
  try {
    const exec = await load(root, out, 'controller/lib/exec.ts');
    const diff = await load(root, out, 'controller/plan/diff.ts');
    const { canonicalCidr } = await load(root, out, 'controller/net/cidr.ts');
    const mods = {
      exec, diff,
      ipset: { factory: (await load(root, out, 'controller/targets/ipset.ts')).createIpset, options: { setName: 'bench', enforce: 'input' } },
      nftables: { factory: (await load(root, out, 'controller/targets/nftables.ts')).createNftables, options: { table: 'bench', enforce: 'input' } },
      route: { factory: (await load(root, out, 'controller/targets/route.ts')).createRoute, options: { proto: 250 } },
    };
    const rows = [];
    const notes = [];
    for (const n of SIZES) {
      const entries = bans(n, canonicalCidr);
      const raw = await rawRestore(exec, entries);
      rows.push({ name: `raw ipset restore, ${n} entries (baseline)`, value: raw, unit: 'ms' });
      for (const driver of ['ipset', 'nftables', 'route']) {
        log(`targets: ${driver} × ${n}`);
        const m = await measure(mods, driver, entries);
        const coldRow = { name: `${driver} cold apply, ${n}`, value: m.cold, unit: 'ms' };
        if (driver === 'ipset') {
          Object.assign(coldRow, { baseline: raw, ratio: m.cold / raw });
          if (n === 100_000) Object.assign(coldRow, { target: '≤ 2× raw', ok: m.cold <= 2 * raw });
        }
        rows.push(coldRow);
        rows.push({ name: `${driver} no-change run (observe + diff), ${n}`, value: m.noop, unit: 'ms' });
        rows.push({ name: `${driver} one-change run, ${n}`, value: m.one, unit: 'ms' });
        rows.push({ name: `${driver} mass expiry (half removed), ${n}`, value: m.half, unit: 'ms' });
      }
    }
    notes.push('Driver-level figures: one target, observe + diff + apply, in a fresh network namespace, no git or process start-up. ' +
      'The whole-process no-change/one-change targets (≤ 0.5 s / ≤ 1.5 s at 100k) belong to the reconciler bench.');
    notes.push('Bans: 80 % IPv4 hosts, 10 % IPv4 /24, 10 % IPv6 /64, disjoint. Every command runs through `ip netns exec`, which adds a few ms per program start.');
    return { section: 'Linux targets (ipset, nftables, route)', rows, notes };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
