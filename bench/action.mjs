// Bench for the fail2ban action line (issue 14): what fail2ban's jail thread waits for.
//  - the shipped `actionban` (hooks/fail2ban/fail2git.conf), fail2ban's tags substituted, run by
//    `sh -c` as fail2ban runs it, paired with fail2ban's own action `ipset add <set> <ip> -exist`
//    (also through `sh -c`, and alone): median of 51 interleaved pairs, a resident flusher running;
//  - storms: 1,000 action lines one after another on one host (as one jail thread fires them), and
//    1,000 on each of 4 hosts at once; firing time, time until all are on the remote, commits.
// Needs root for the kernel side (a throwaway network namespace holds the ipset); without it the
// pair rows are skipped and the storms still run.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './lib/stats.mjs';
import { git, makeRemote } from './lib/ledger-remote.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function makeHost(root, bare, name) {
  const stateDir = join(root, name);
  mkdirSync(join(stateDir, 'spool'), { recursive: true });
  const config = join(root, `${name}.yaml`);
  writeFileSync(config, `remote: ${bare}\nbranch: main\nhost: ${name}\nstateDir: ${stateDir}\n`);
  return { name, config, stateDir, spool: join(stateDir, 'spool') };
}

/** The shipped action line for `key`, tags substituted the way fail2ban substitutes plain values. */
function actionLine(repo, key, tags) {
  const conf = readFileSync(join(repo, 'hooks', 'fail2ban', 'fail2git.conf'), 'utf8');
  const line = new RegExp(`^${key} = (.*)$`, 'm').exec(conf)[1];
  return line.replace(/<([a-z0-9_-]+)>/g, (m, t) => tags[t] ?? m);
}

const banLine = (repo, cli, host, ip) => actionLine(repo, 'actionban', {
  name: 'sshd', ip, bantime: '3600', time: String(Date.now() / 1000), restored: '0', bancount: '1', failures: '5',
  fail2git: `${process.execPath} ${cli}`, config: host.config,
});

function pending(host) {
  return existsSync(host.spool) ? readdirSync(host.spool).filter((n) => n.endsWith('.json') || n.endsWith('.f2b')).length : 0;
}

async function waitDrained(hosts, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!hosts.every((h) => pending(h) === 0 && !existsSync(join(h.stateDir, 'flush.lock')))) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** A resident flusher per host (`fail2git flush --watch`), as deploy/systemd/fail2git-flush.service runs it. */
export async function startWatchers(cli, hosts) {
  const children = hosts.map((h) => spawn(process.execPath, [cli, 'flush', '--watch', '--config', h.config], { stdio: ['ignore', 'ignore', 'inherit'] }));
  for (let i = 0; i < hosts.length; i++) hosts[i].watcherPid = children[i].pid;
  const deadline = Date.now() + 30_000;
  while (!hosts.every((h) => existsSync(join(h.stateDir, 'watch.lock')))) {
    if (Date.now() > deadline) throw new Error('resident flusher did not start');
    await sleep(20);
  }
  return async () => {
    await Promise.all(children.map((c) => new Promise((r) => {
      if (c.exitCode !== null) return r();
      c.once('exit', r);
      c.kill('SIGTERM');
    })));
  };
}

// Runs inside the namespace: times `sh -c LINE` against `sh -c 'ipset add …'` and `ipset add …`, interleaved.
const PAIRS = `
const { spawnSync } = await import('node:child_process');
const [lines, n] = JSON.parse(process.argv[1]);
const t = (cmd, args) => { const s = process.hrtime.bigint(); const r = spawnSync(cmd, args, { stdio: 'ignore' }); if (r.status !== 0) throw new Error(cmd + ' ' + args.join(' ').slice(0, 80) + ' exited ' + r.status); return Number(process.hrtime.bigint() - s) / 1e6; };
spawnSync('ipset', ['create', 'f2b-bench', 'hash:ip', '-exist']);
const out = { action: [], ipsetSh: [], ipset: [] };
for (let i = 0; i < n; i++) {
  const ip = '100.64.' + (i >> 8) + '.' + ((i & 255) + 1);
  out.ipsetSh.push(t('sh', ['-c', 'ipset add f2b-bench ' + ip + ' -exist']));
  out.action.push(t('sh', ['-c', lines[i]]));
  out.ipset.push(t('ipset', ['add', 'f2b-bench', '100.65.' + (i >> 8) + '.' + ((i & 255) + 1), '-exist']));
}
process.stdout.write(JSON.stringify(out));
`;

function canNetns() {
  try {
    return process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0 && spawnSync('ipset', ['--version']).status === 0;
  } catch {
    return false;
  }
}

async function pairs(repo, cli, host, n) {
  const ns = `f2g-bench-action-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const lines = Array.from({ length: n }, (_, i) => banLine(repo, cli, host, `100.70.${i >> 8}.${(i & 255) + 1}`));
    const res = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', PAIRS, JSON.stringify([lines, n])], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (res.status !== 0) throw new Error(`pairs failed: ${res.stderr.trim().split('\n').pop()}`);
    return JSON.parse(res.stdout);
  } finally {
    execFileSync('ip', ['netns', 'delete', ns]);
  }
}

/**
 * CPU seconds (user + system) a process used so far, its reaped children (the git processes a
 * flusher starts, and theirs) included; 0 when it cannot be read (not Linux).
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 of proc(5): utime stime cutime cstime, in clock ticks (100 per second on Linux)
    return f.slice(11, 15).reduce((a, v) => a + Number(v), 0) / 100;
  } catch {
    return 0;
  }
}

/** `count` action lines per host, one after another per host (a jail thread), all hosts at once. */
export async function storm(repo, cli, bare, hosts, count, prefix) {
  const before = Number(git(bare, 'rev-list', '--count', 'main'));
  const [a, b] = prefix.split('.').map(Number);
  const ipOf = (h, i) => `${a}.${b + hosts.indexOf(h)}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  const load = loadavg()[0];
  const cpu0 = hosts.map((h) => cpuSeconds(h.watcherPid));
  const start = Date.now();
  let failed = 0;
  let lastDone = start;
  await Promise.all(hosts.map(async (h) => {
    for (let i = 0; i < count; i++) {
      const code = await new Promise((r) => spawn('sh', ['-c', banLine(repo, cli, h, ipOf(h, i))], { stdio: 'ignore' }).on('exit', r));
      if (code !== 0) failed++;
    }
    lastDone = Math.max(lastDone, Date.now());
  }));
  const fired = lastDone - start;
  const done = await waitDrained(hosts, 120_000);
  const drained = Date.now() - lastDone;
  const text = git(bare, 'show', 'main:bans/active.yaml');
  let present = 0;
  for (const h of hosts) for (let i = 0; i < count; i++) if (text.includes(`cidr: ${ipOf(h, i)},`)) present++;
  const commits = Number(git(bare, 'rev-list', '--count', 'main')) - before;
  const flusherCpu = hosts.reduce((a, h, i) => a + cpuSeconds(h.watcherPid) - cpu0[i], 0);
  return { fired, drained, present, commits, failed, done, flusherCpu, total: hosts.length * count, load: [load, loadavg()[0]] };
}

export async function run({ root: repo, log }) {
  const root = mkdtempSync(join(tmpdir(), 'f2g-bench-action-'));
  const stops = [];
  try {
    const cli = join(repo, 'dist', 'bundle', 'fail2git.mjs');
    const bare = makeRemote(root, repo);
    const rows = [];
    const notes = [];
    const h0 = makeHost(root, bare, 'a0');
    execFileSync(process.execPath, [cli, 'flush', '--config', h0.config], { stdio: 'ignore' });
    stops.push(await startWatchers(cli, [h0]));
    if (canNetns()) {
      log('action line vs ipset add -exist (51 pairs)');
      const p = await pairs(repo, cli, h0, 51);
      const a = median(p.action);
      const s = median(p.ipsetSh);
      const d = median(p.ipset);
      rows.push(
        { name: 'actionban through sh (shipped line, resident flusher running), p50', value: a, unit: 'ms', baseline: s, ratio: a / s, target: '≤ 2× sh -c ipset add', ok: a / s <= 2 },
        { name: 'fail2ban\'s own action `sh -c "ipset add f2b-bench IP -exist"`, p50', value: s, unit: 'ms' },
        { name: 'actionban vs a bare `ipset add … -exist` (no sh), p50', value: a, unit: 'ms', baseline: d, ratio: a / d },
      );
      await waitDrained([h0], 60_000);
    } else {
      notes.push('Pair rows skipped: not root, or no `ip netns`/`ipset` (the ipset lives in a throwaway network namespace).');
    }
    log('storm: 1000 action lines on one host');
    const one = await storm(repo, cli, bare, [h0], 1000, '100.80');
    log('storm: 1000 action lines on each of 4 hosts at once');
    const hs = ['b1', 'b2', 'b3', 'b4'].map((n) => makeHost(root, bare, n));
    for (const h of hs) execFileSync(process.execPath, [cli, 'flush', '--config', h.config], { stdio: 'ignore' });
    stops.push(await startWatchers(cli, hs));
    const four = await storm(repo, cli, bare, hs, 1000, '100.96');
    log('storm: 250 action lines on each of 4 hosts at once (1000 in all)');
    const quarter = await storm(repo, cli, bare, hs, 250, '100.112');
    for (const [label, s, hosts] of [['1 host', one, 1], ['4 hosts at once, 1000 each', four, 4], ['4 hosts at once, 250 each', quarter, 4]]) {
      rows.push(
        { name: `storm, ${label}: ${s.total} action lines fired (each host's one after another)`, value: s.fired / 1000, unit: 's', target: '≤ 10 s', ok: s.fired <= 10_000 },
        { name: `storm, ${label}: per ban on fail2ban's thread`, value: (s.fired / (s.total / hosts)), unit: 'ms', ...(rows[1] ? { baseline: rows[1].value, ratio: s.fired / (s.total / hosts) / rows[1].value } : {}) },
        { name: `storm, ${label}: all on the remote after the last`, value: s.drained / 1000, unit: 's', target: '≤ 30 s', ok: s.done && s.drained <= 30_000 },
        { name: `storm, ${label}: commits used`, value: s.commits, unit: 'commits', target: '≤ 50', ok: s.commits <= 50 },
        { name: `storm, ${label}: the resident flushers' CPU (user + system, their git processes included)`, value: Math.round(s.flusherCpu * 100) / 100, unit: 's' },
        { name: `storm, ${label}: bans present, action failures`, value: s.present, unit: `of ${s.total}, ${s.failed} failed`, target: `${s.total}, 0`, ok: s.present === s.total && s.failed === 0 },
      );
    }
    notes.push(
      `Load average (1 min, the whole machine: other work shares these 2 cores) before → after each storm: 1 host ${one.load.map((l) => l.toFixed(1)).join(' → ')}, 4 × 1000 ${four.load.map((l) => l.toFixed(1)).join(' → ')}, 4 × 250 ${quarter.load.map((l) => l.toFixed(1)).join(' → ')}. A storm's own processes add about 2–4 to it; more than that is someone else's work, and the storm rows are then slower than the code.`,
      'Whole-process wall time of `sh -c LINE` as fail2ban runs its actions (`subprocess.Popen(…, shell=True)`), the shipped `actionban` with fail2ban\'s tags substituted. The line writes the record with shell built-ins and fsyncs it and the spool directory with one `sync FILE DIR`; a resident flusher (`fail2git flush --watch`) delivers it. The ipset baseline runs in a throwaway network namespace, interleaved with the action line.',
      'Storms: each host\'s lines run one after another, as one jail thread fires them; "per ban" is a host\'s firing time over its bans, next to fail2ban\'s own `sh -c ipset add` above. The 4 "hosts" share this one 2-core machine (4 streams of `sh` + `sync` processes on 2 cores, and 4 flushers), so their firing time is bound by the CPU; on 4 real hosts each fires as the 1-host row.',
    );
    return { section: 'fail2ban action line (issue 14)', rows, notes };
  } finally {
    for (const stop of stops) await stop();
    rmSync(root, { recursive: true, force: true });
  }
}
