// The reconciler, whole process (`node dist/bin/fail2git.js reconcile --once`), issue 4:
// - no-change run at 100k bans, tip unchanged: ≤ 0.5 s (file target; ipset in a netns)
// - one-change run at 100k (one ban added at the tip: fetch, parse, apply, verify): ≤ 1.5 s
// - propagation: `fail2git ban` on host A (one netns) → entry in host B's kernel (another
//   netns, `reconcile --watch --interval 1s`), p50 ≤ 3 s over 20 trials.
// Baseline: bare `node -e ''` start-up, measured in the same run. Needs `npm run build`.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, percentile } from './lib/stats.mjs';

const N = Number(process.env.F2G_BENCH_RECONCILE_N ?? 100_000);
const TRIALS = Number(process.env.F2G_BENCH_PROPAGATION_TRIALS ?? 20);
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' };

const git = (cwd, ...args) => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function timeRun(file, args, opts = {}) {
  const t0 = performance.now();
  try {
    execFileSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  } catch (err) {
    throw new Error(`${args.slice(0, 4).join(' ')} failed: ${String(err.stderr ?? err.message).split('\n').slice(-3).join(' | ')}`);
  }
  return (performance.now() - t0) / 1000;
}

/** n disjoint IPv4 host bans in canonical order (11.0.0.0/8: not in any test or host range). */
function banLines(n, expires) {
  const out = [];
  for (let i = 1; i <= n; i++) out.push(`  - {cidr: 11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, expires: ${expires}, at: 2026-11-25T00:00:00Z, by: web1, jail: sshd, count: 1}`);
  return out;
}

function ledger(dir, bans, targets) {
  mkdirSync(join(dir, 'bans'), { recursive: true });
  writeFileSync(join(dir, 'bans/active.yaml'), ['apiVersion: fail2git/v1', 'kind: BanList', bans.length ? 'bans:' : 'bans: []', ...bans, ''].join('\n'));
  writeFileSync(join(dir, 'bans/allow.yaml'), 'apiVersion: fail2git/v1\nkind: AllowList\nallow: []\n');
  writeFileSync(join(dir, 'bans/policy.yaml'), 'apiVersion: fail2git/v1\nkind: Policy\nspec: {defaultTtl: 1h}\n');
  writeFileSync(join(dir, 'bans/targets.yaml'), targets);
}

function remoteWith(root, bans, targets) {
  const bare = join(root, 'ledger.git');
  const work = join(root, 'work');
  git(root, 'init', '-q', '--bare', '-b', 'main', bare);
  git(root, 'init', '-q', '-b', 'main', work);
  ledger(work, bans, targets);
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'seed');
  git(work, 'remote', 'add', 'origin', bare);
  git(work, 'push', '-q', 'origin', 'main');
  return { bare, work };
}

function netns(tag) {
  const name = `f2gbr${tag}${process.pid % 10000}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return { name, destroy: () => { try { execFileSync('ip', ['netns', 'delete', name]); } catch { /* gone */ } } };
}

/** no-change and one-change whole-process runs at N bans against one target. */
function scaleRuns(cli, root, label, target, prefix) {
  const expires = new Date(Date.now() + 30 * 86400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const bans = banLines(N, expires);
  const { bare, work } = remoteWith(root, bans, target);
  const flags = ['reconcile', '--once', '--remote', bare, '--host', 'bench1', '--state-dir', join(root, 'state')];
  const run = () => timeRun(prefix[0] ?? process.execPath, [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), cli, ...flags]);
  const cold = run();
  const noChange = [];
  for (let i = 0; i < 5; i++) noChange.push(run());
  const oneChange = [];
  for (let i = 1; i <= 3; i++) {
    // One more ban at the end of the list: a one-line commit, as a hook makes it.
    bans.push(`  - {cidr: 12.0.0.${i}, expires: ${expires}, at: 2026-11-25T00:00:00Z, by: web1, jail: sshd, count: 1}`);
    ledger(work, bans, target);
    git(work, 'commit', '-q', '-am', `ban 12.0.0.${i}`);
    git(work, 'push', '-q', 'origin', 'main');
    oneChange.push(run());
  }
  return [
    { name: `${label}: cold apply of ${N} (first run: clone, parse, apply)`, value: cold, unit: 's' },
    { name: `${label}: no-change run at ${N}, tip unchanged (median of 5)`, value: median(noChange), unit: 's', target: '≤ 0.5 s', ok: median(noChange) <= 0.5 },
    { name: `${label}: one-change run at ${N} (median of 3)`, value: median(oneChange), unit: 's', target: '≤ 1.5 s', ok: median(oneChange) <= 1.5 },
  ];
}

async function propagation(cli, root, log) {
  const set = `f2gbp${process.pid % 10000}`;
  const target = `apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: kernel}\nspec:\n  driver: ipset\n  hosts: ["hostb"]\n  options: {setName: ${set}, enforce: none}\n`;
  const { bare } = remoteWith(root, [], target);
  const cfgA = join(root, 'a.yaml');
  writeFileSync(cfgA, `remote: ${bare}\nhost: hosta\nstateDir: ${join(root, 'state-a')}\n`);
  const a = netns('a');
  const b = netns('b');
  const watcher = spawn('ip', ['netns', 'exec', b.name, process.execPath, cli, 'reconcile', '--watch', '--interval', '1s',
    '--remote', bare, '--host', 'hostb', '--state-dir', join(root, 'state-b')], { stdio: 'ignore' });
  const present = (ip) => { try { execFileSync('ip', ['netns', 'exec', b.name, 'ipset', 'test', `${set}-v4`, ip], { stdio: 'ignore' }); return true; } catch { return false; } };
  const times = [];
  try {
    for (let t0 = Date.now(); !existsSync(join(root, 'state-b', 'status.json')); ) {
      if (Date.now() - t0 > 30_000) throw new Error('host B never finished a first run');
      await sleep(100);
    }
    for (let i = 1; i <= TRIALS; i++) {
      const ip = `198.18.0.${i}`;
      const t0 = performance.now();
      const ban = spawn('ip', ['netns', 'exec', a.name, process.execPath, cli, 'ban', ip, '--ttl', '1h', '--reason', 'bench', '--config', cfgA], { stdio: 'ignore' });
      const banned = new Promise((r) => ban.once('exit', r));
      for (;;) {
        if (present(ip)) break;
        if (performance.now() - t0 > 30_000) throw new Error(`${ip} never reached host B`);
        await sleep(50);
      }
      times.push((performance.now() - t0) / 1000);
      await banned;
      // Spread trials over the watch interval, as real bans arrive at random moments.
      await sleep(200 + Math.floor(Math.random() * 800));
    }
  } finally {
    watcher.kill('SIGTERM');
    await new Promise((r) => (watcher.exitCode !== null ? r() : watcher.once('exit', r)));
    a.destroy();
    b.destroy();
  }
  log(`propagation: ${times.map((t) => t.toFixed(2)).join(' ')}`);
  return [
    { name: `propagation ban on A → B's kernel, p50 of ${times.length}`, value: median(times), unit: 's', target: '≤ 3 s', ok: median(times) <= 3 },
    { name: `propagation p90 of ${times.length}`, value: percentile(times, 0.9), unit: 's' },
  ];
}

export async function run({ root, log }) {
  const cli = join(root, 'dist', 'bin', 'fail2git.js');
  if (!existsSync(cli)) throw new Error('dist/bin/fail2git.js missing: run `npm run build` first');
  const base = [];
  for (let i = 0; i < 5; i++) base.push(timeRun(process.execPath, ['-e', '']));
  const baseline = median(base);
  const tmp = mkdtempSync(join(tmpdir(), 'f2g-bench-reconcile-'));
  const rows = [{ name: 'baseline: node -e "" start-up (median of 5)', value: baseline, unit: 's' }];
  const notes = [];
  try {
    const fileDir = join(tmp, 'file');
    mkdirSync(fileDir);
    // Under <state-dir>/lists/: the one place a host with no writablePaths lets file targets write.
    const fileTarget = `apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: alias}\nspec:\n  driver: file\n  options: {path: ${join(fileDir, 'state', 'lists', 'list.txt')}, format: txt}\n`;
    log(`file target at ${N}`);
    rows.push(...scaleRuns(cli, fileDir, 'file', fileTarget, []));
    const ipsetDir = join(tmp, 'ipset');
    mkdirSync(ipsetDir);
    const ns = netns('s');
    try {
      const ipsetTarget = `apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: kernel}\nspec:\n  driver: ipset\n  options: {setName: f2gbench, enforce: input}\n`;
      log(`ipset target at ${N} in netns ${ns.name}`);
      rows.push(...scaleRuns(cli, ipsetDir, 'ipset', ipsetTarget, ['ip', 'netns', 'exec', ns.name]));
    } finally {
      ns.destroy();
    }
    for (const r of rows.slice(1)) if (r.unit === 's' && typeof r.value === 'number') r.ratio = r.value / baseline;
    const propDir = join(tmp, 'prop');
    mkdirSync(propDir);
    log(`propagation, ${TRIALS} trials`);
    rows.push(...(await propagation(cli, propDir, log)));
    notes.push(
      `Whole-process times of \`fail2git reconcile --once\` (ratio: against bare node start-up). A run whose tip has not moved does one \`git ls-remote\`, reads the cached desired set of the last good commit (no YAML parsing; expiry is a filter), observes the target, diffs, and writes status/metrics; a one-change run also fetches, parses and validates the new tip, computes and caches its desired set, applies the diff and observes again to verify. Both include the after-run step (fleet record, gc on the gcHost). Wall-clock times on a shared machine vary with its load (\`uptime\` load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end of this section).`,
      'Propagation: host B runs `reconcile --watch --interval 1s` (a tick costs one ls-remote when nothing changed); host A runs `fail2git ban`, which commits and pushes before it exits. Each namespace is a separate network stack; both use the same bare remote on disk.',
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { section: 'Reconciler (issue 4): whole process, 100k bans, propagation', rows, notes };
}
