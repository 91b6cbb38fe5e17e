// Bench for the node hook, `fail2git hook …` by hand (issue 3; fail2ban's own path is bench/action.mjs):
//  - hook latency (process start → exit) vs bare `node -e ''`, p50;
//    the shipped CLI (dist/bin), the chunked bundle dist/bundle/ and the single file dist/fail2git.mjs;
//  - one ban visible on a local bare remote after the hook starts, p50;
//  - a storm at 100/s through the hook's code path in-process, with real flushers.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './lib/stats.mjs';
import { git, makeRemote } from './lib/ledger-remote.mjs';


function timed(cmd, args) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('exit', (code) => resolve({ code, ms: Number(process.hrtime.bigint() - start) / 1e6 }));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeHost(root, bare, name) {
  const stateDir = join(root, name);
  mkdirSync(stateDir, { recursive: true });
  const config = join(root, `${name}.yaml`);
  writeFileSync(config, `remote: ${bare}\nbranch: main\nhost: ${name}\nstateDir: ${stateDir}\n`);
  return { name, config, stateDir, spool: join(stateDir, 'spool') };
}

const hookArgs = (cli, host, ip) => [cli, 'hook', 'ban', '--jail', 'sshd', '--ip', ip, '--bantime', '3600', '--time', String(Math.floor(Date.now() / 1000)), '--config', host.config];

function settled(host) {
  const pending = existsSync(host.spool) ? readdirSync(host.spool).filter((n) => n.endsWith('.json')).length : 0;
  return pending === 0 && !existsSync(join(host.stateDir, 'flush.lock'));
}

async function waitSettled(hosts, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!hosts.every(settled)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Hook vs `node -e ''`, interleaved so both see the same machine load. */
async function latency(cli, host, n, prefix) {
  const hook = [];
  const bare = [];
  for (let i = 0; i < n; i++) {
    bare.push((await timed(process.execPath, ['-e', ''])).ms);
    hook.push((await timed(process.execPath, hookArgs(cli, host, `${prefix}.${Math.floor(i / 250)}.${(i % 250) + 1}`))).ms);
    // The background flusher would otherwise skew the next sample.
    if (!(await waitSettled([host], 30_000))) throw new Error(`spool did not drain: ${readFileSync(join(host.stateDir, 'flush.json'), 'utf8').trim()}`);
  }
  return { hook: median(hook), node: median(bare) };
}

async function visible(cli, bare, host, n) {
  const times = [];
  const ref = join(bare, 'refs', 'heads', 'main');
  for (let i = 0; i < n; i++) {
    const ip = `100.70.0.${i + 1}`;
    const start = Date.now();
    spawn(process.execPath, hookArgs(cli, host, ip), { stdio: 'ignore' });
    let seen = '';
    for (;;) {
      const head = existsSync(ref) ? readFileSync(ref, 'utf8') : git(bare, 'rev-parse', 'main');
      if (head !== seen) {
        seen = head;
        if (git(bare, 'show', 'main:bans/active.yaml').includes(`cidr: ${ip},`)) break;
      }
      if (Date.now() - start > 30_000) throw new Error(`ban ${ip} not visible after 30 s`);
      await sleep(5);
    }
    times.push(Date.now() - start);
    if (!(await waitSettled([host], 30_000))) throw new Error('spool did not drain');
  }
  return median(times);
}

/**
 * The same storm at the rate (100 per second for 10 s), without paying a node
 * start-up per hook: this process runs the hook's own code path per call (validate, decide,
 * fsync into the spool, start a detached flusher unless one runs). What it measures is the
 * flush side: batching, contention between 4 hosts, time to all-on-remote.
 */
async function pacedStorm(repo, cli, bare, hosts, total, perSecond) {
  const dist = (p) => import(join(repo, 'dist', p));
  const { parseHookArgs, decide, flusherRunning, spawnFlusher } = await dist('hooks/fail2ban-commit.js');
  const { spoolOperation, newOpId } = await dist('hooks/spool.js');
  const { readGuard } = await dist('hooks/guard-cache.js');
  const { flushLockPath } = await dist('controller/lib/lock.js');
  const before = Number(git(bare, 'rev-list', '--count', 'main'));
  const ips = [];
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / perSecond;
    if (due > Date.now()) await sleep(due - Date.now());
    const host = hosts[i % hosts.length];
    const ip = `100.${90 + (i % hosts.length)}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    ips.push(ip);
    const now = Date.now();
    const args = parseHookArgs('ban', { jail: 'sshd', ip, bantime: '3600', time: String(Math.floor(now / 1000)) });
    const d = decide(args, readGuard(host.stateDir), host.name, now, newOpId(host.name, now));
    spoolOperation(host.spool, d.op);
    if (!flusherRunning(flushLockPath(host.stateDir), now)) await spawnFlusher({ path: host.config }, cli);
  }
  const fired = Date.now() - start;
  const done = await waitSettled(hosts, 120_000);
  const drained = Date.now() - start - fired;
  const text = git(bare, 'show', 'main:bans/active.yaml');
  const present = ips.filter((ip) => text.includes(`cidr: ${ip},`)).length;
  const commits = Number(git(bare, 'rev-list', '--count', 'main')) - before;
  return { fired, drained, present, commits, done };
}

export async function run({ root: repo, log }) {
  const root = mkdtempSync(join(tmpdir(), 'f2g-bench-hook-'));
  try {
    const cli = join(repo, 'dist', 'bin', 'fail2git.js');
    const bare = makeRemote(root, repo);
    const h0 = makeHost(root, bare, 'bench0');
    execFileSync(process.execPath, [cli, 'flush', '--config', h0.config], { stdio: 'ignore' });
    log('hook latency (dist)');
    const dist = await latency(cli, h0, 31, '100.64');
    // The shipped bundles (npm run build): split into chunks (the install the docs recommend
    // for fail2ban hosts) and the single file.
    const bundled = join(repo, 'dist', 'bundle', 'fail2git.mjs');
    const single = join(repo, 'dist', 'fail2git.mjs');
    log('hook latency (dist/bundle)');
    const bun = await latency(bundled, h0, 31, '100.65');
    log('hook latency (dist/fail2git.mjs)');
    const one = await latency(single, h0, 31, '100.66');
    log('one ban visible on the remote');
    const vis = await visible(cli, bare, h0, 11);
    log('storm at 100/s (hook code path in-process, real flushers)');
    const phosts = ['p1', 'p2', 'p3', 'p4'].map((n) => makeHost(root, bare, n));
    const p = await pacedStorm(repo, bundled, bare, phosts, 1000, 100);
    const rows = [
      { name: 'hook p50, dist/bin/fail2git.js', value: dist.hook, unit: 'ms', baseline: dist.node, ratio: dist.hook / dist.node, target: '≤ 1.5× node', ok: dist.hook / dist.node <= 1.5 },
    ];
    rows.push(
      { name: 'hook p50, dist/bundle/fail2git.mjs (recommended install)', value: bun.hook, unit: 'ms', baseline: bun.node, ratio: bun.hook / bun.node, target: '≤ 1.5× node', ok: bun.hook / bun.node <= 1.5 },
      { name: 'hook p50, dist/fail2git.mjs (single file)', value: one.hook, unit: 'ms', baseline: one.node, ratio: one.hook / one.node, target: '≤ 1.5× node', ok: one.hook / one.node <= 1.5 },
    );
    rows.push(
      { name: 'one ban visible on local bare remote, p50', value: vis, unit: 'ms', target: '≤ 1000 ms', ok: vis <= 1000 },
      { name: 'storm at 100/s: fired', value: p.fired / 1000, unit: 's', target: '≤ 10 s', ok: p.fired <= 10_500 },
      { name: 'storm at 100/s: all on remote after the last', value: p.drained / 1000, unit: 's', target: '≤ 30 s', ok: p.done && p.drained <= 30_000 },
      { name: 'storm at 100/s: commits used', value: p.commits, unit: 'commits', target: '≤ 100', ok: p.commits <= 100 },
      { name: 'storm at 100/s: bans present (of 1000)', value: p.present, unit: 'present', target: '1000', ok: p.present === 1000 },
    );
    return {
      section: 'node hook `fail2git hook …`, by hand (issue 3)',
      rows,
      notes: [
        'Hook latency is whole-process wall time (spool fsync + detached flusher spawn included), median of 31, each sample next to a `node -e \'\'` sample.',
        'fail2ban no longer starts node for a ban: its action line writes the spool record itself (section "fail2ban action line (issue 14)", with the storms of action lines). These rows are the node hook people and scripts call by hand, and the action line\'s fallback when the spool is missing.',
        'The "storm at 100/s" rows fire at the issue\'s rate by running the hook\'s code path in the bench process (no node start-up per call) while real detached flushers commit and push: they measure batching and contention between 4 hosts.',
      ],
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
