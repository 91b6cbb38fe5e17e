// Fleet simulation (issue 18): what N enforcing hosts cost one git forge, and how fast a ban
// reaches all of them. Loopback only, bounded in time. Run it alone: `npm run bench -- fleet`.
//
// The forge stand-in is one bare repository served two ways on 127.0.0.1, each behind a
// counting proxy of ours: `git daemon` (a TCP proxy counts connections and bytes) and smart
// HTTP through `git http-backend` (a node:http CGI proxy counts requests and bytes; it passes
// the Git-Protocol header, so protocol v2 works as it does behind a real forge). Even hosts use
// git://, odd hosts http://.
//
// Each simulated host runs the reconciler's own wire code from dist/ (so a change there shows
// here): controller/git/clone.js syncClone (ls-remote, fetch when the tip moved) on the watch
// loop's schedule (loop/watch.js nextWakeMs: the interval with its jitter), and after each run
// fleet/remote.js publishHostStatus (a real push of refs/fail2git/status/<host> when the record
// changed or its heartbeat is due). Hosts share this node process; every git operation is a
// real git client talking to the forge. Not simulated: the enforce step itself (parse, apply;
// see the reconcile section for its cost) and the forge's CPU under a real 1,000-host load.
//
// Phases per fleet size: quiet (one interval, no bans; heartbeats and backed-off polls spread as
// in a steady state), then a ban stream (three writers, real `git push` with retry on non-fast-forward, one
// ban every BAN_PERIOD_MS in all) for one interval, then a drain until every host holds the last
// ban (at most 2 intervals). N = 1,000 is sampled: the forge holds 1,000 hosts' status refs
// (every advertisement is full-size), 100 of the hosts run live, per-host figures are theirs and
// the forge totals are per-host × 1,000.
//
// Then the same fleet with the push-triggered wake-up (docs/serve.md "Mirror"): one mirror, the
// real `serve` with serve.mirror from dist/ (serve/run.js startServe) polling the forge over HTTP
// every 2 s, and on every host the reconciler's real WakeListener (loop/wake.js) long-polling it
// and fetching new tips from it over smart HTTP with real git, beside the same LedgerFetch. A
// quiet phase, a ban stream, and a ban stream with the mirror stopped (the wake path down:
// propagation falls back to polling, nothing may be lost). The mirror's and the writers' forge
// requests come through doors of their own and are counted once, never multiplied by the sample.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { percentile } from './lib/stats.mjs';

const INTERVAL_MS = Number(process.env.F2G_BENCH_FLEET_INTERVAL_MS ?? 30_000);
const SIZES = (process.env.F2G_BENCH_FLEET_N ?? '10,100,1000').split(',').map(Number);
const LIVE_MAX = Number(process.env.F2G_BENCH_FLEET_LIVE ?? 100);
const BAN_PERIOD_MS = Number(process.env.F2G_BENCH_FLEET_BAN_PERIOD_MS ?? 2_000);
const LEDGER_ENTRIES = 2_000;
/** F2G_BENCH_FLEET_WAKE=0 skips the wake-up phases. */
const WAKE = process.env.F2G_BENCH_FLEET_WAKE !== '0';
const MIRROR_INTERVAL = process.env.F2G_BENCH_FLEET_MIRROR_INTERVAL ?? '2s';
const WRITERS = 3;
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid', GIT_TERMINAL_PROMPT: '0' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const gitSync = (cwd, args, input) => execFileSync('git', args, { cwd, env: GIT_ENV, input, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
const git = (cwd, args) =>
  new Promise((resolve, reject) =>
    execFile('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout.trim()))),
  );

async function pool(items, width, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Counters shared by both front doors. */
function newCounters() {
  return { requests: 0, bytesDown: 0, bytesUp: 0, byKind: {} };
}

/** `git daemon` on a private port, behind a TCP proxy that counts connections and bytes. */
async function startDaemon(base, counters) {
  const inner = await freePort();
  const daemon = spawn('git', ['daemon', '--listen=127.0.0.1', `--port=${inner}`, '--reuseaddr', '--export-all', '--enable=receive-pack', `--base-path=${base}`, base], { stdio: 'ignore', env: GIT_ENV });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((r) => net.connect(inner, '127.0.0.1').on('connect', function () { this.destroy(); r(true); }).on('error', () => r(false)));
    if (up) break;
    await sleep(50);
  }
  const server = net.createServer((client) => {
    counters.requests++;
    counters.byKind.daemon = (counters.byKind.daemon ?? 0) + 1;
    const upstream = net.connect(inner, '127.0.0.1');
    client.on('data', (d) => { counters.bytesUp += d.length; upstream.write(d); });
    upstream.on('data', (d) => { counters.bytesDown += d.length; client.write(d); });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, close: () => { server.close(); daemon.kill(); } };
}

/** Smart HTTP: node:http as the web server, `git http-backend` as the CGI, counting requests and bytes. */
async function startHttp(base, counters) {
  const server = http.createServer((req, res) => {
    counters.requests++;
    counters.byKind.http = (counters.byKind.http ?? 0) + 1;
    const url = new URL(req.url, 'http://forge');
    const env = {
      PATH: process.env.PATH, GIT_PROJECT_ROOT: base, GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method, PATH_INFO: decodeURIComponent(url.pathname), QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '', REMOTE_ADDR: '127.0.0.1', REMOTE_USER: 'fleet',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = req.headers['git-protocol'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    req.on('data', (d) => { counters.bytesUp += d.length; });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (d) => {
      if (headersDone) { counters.bytesDown += d.length; res.write(d); return; }
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else res.setHeader(k, v);
      }
      res.writeHead(status);
      const rest = head.subarray(end + 4);
      counters.bytesDown += rest.length + end + 4;
      res.write(rest);
    });
    cgi.stdout.on('end', () => res.end());
    cgi.on('error', () => res.destroy());
  });
  server.keepAliveTimeout = 5_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, close: () => server.close() };
}

const banLine = (i) => `  - {cidr: 11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, expires: 2099-01-01T00:00:00Z, at: 2026-11-25T00:00:00Z, by: web${i % 7}, jail: sshd, count: 1}`;

function seedForge(dir, n) {
  const base = join(dir, 'forge');
  const bare = join(base, 'ledger.git');
  mkdirSync(base, { recursive: true });
  gitSync(dir, ['init', '-q', '--bare', '-b', 'main', bare]);
  gitSync(bare, ['config', 'http.receivepack', 'true']);
  const work = join(dir, 'seed');
  gitSync(dir, ['init', '-q', '-b', 'main', work]);
  mkdirSync(join(work, 'bans'));
  const lines = Array.from({ length: LEDGER_ENTRIES }, (_, i) => banLine(i + 1));
  writeFileSync(join(work, 'bans/active.yaml'), ['apiVersion: fail2git/v1', 'kind: BanList', 'bans:', ...lines, ''].join('\n'));
  writeFileSync(join(work, 'bans/policy.yaml'), 'apiVersion: fail2git/v1\nkind: Policy\nspec: {defaultTtl: 1h}\n');
  gitSync(work, ['add', '-A']);
  gitSync(work, ['commit', '-q', '-m', 'seed']);
  gitSync(work, ['push', '-q', bare, 'main']);
  // Every host of the fleet has a status ref (the live ones overwrite theirs with real pushes).
  const blob = gitSync(bare, ['hash-object', '-w', '--stdin'], '{"version":1}\n');
  const tree = gitSync(bare, ['mktree'], `100644 blob ${blob}\tstatus.json\n`);
  const commit = gitSync(bare, ['commit-tree', tree, '-m', 'status'], '');
  gitSync(bare, ['update-ref', '--stdin'], Array.from({ length: n }, (_, i) => `create refs/fail2git/status/${hostName(i)} ${commit}\n`).join(''));
  return { base, bare, work };
}

const hostName = (i) => `h${String(i).padStart(4, '0')}`;

async function simulate(root, n, log) {
  const dir = mkdtempSync(join(tmpdir(), 'f2g-bench-fleet-'));
  const mod = (p) => import(pathToFileURL(join(root, 'dist/controller', p)).href);
  const { syncClone, ensureClone } = await mod('git/clone.js');
  const { publishHostStatus } = await mod('fleet/remote.js');
  const { nextWakeMs } = await mod('loop/watch.js');
  const { LedgerFetch, idlePollCapMs } = await mod('loop/ledger-fetch.js');
  const { execRunner } = await mod('lib/exec.js');
  const { localTip } = await mod('git/clone.js');
  // The push-triggered wake-up: serve's real mirror and the reconciler's real WakeListener.
  const wakeMod = WAKE ? await mod('loop/wake.js').catch(() => undefined) : undefined;
  const serveMod = wakeMod ? await mod('serve/run.js') : undefined;
  const fleetMod = await mod('fleet/remote.js');
  const beatMs = fleetMod.heartbeatMs ? fleetMod.heartbeatMs(INTERVAL_MS, n) : 1.5 * INTERVAL_MS;
  const counters = newCounters();
  const closers = [];
  try {
    const { base, bare, work } = seedForge(dir, n);
    const d = await startDaemon(base, counters);
    const h = await startHttp(base, counters);
    // The mirror's own door to the forge: its polls are one process's, never multiplied by the sample.
    const mirrorCounters = newCounters();
    const hm = await startHttp(base, mirrorCounters);
    // The writers' door: a ban's own fetch and push are the stream's, counted once, not per host.
    const writerCounters = newCounters();
    const hw = await startHttp(base, writerCounters);
    closers.push(d.close, h.close, hm.close, hw.close);
    const urls = [`git://127.0.0.1:${d.port}/ledger.git`, `http://127.0.0.1:${h.port}/ledger.git`];
    const live = Math.min(n, LIVE_MAX);
    const interval = `${INTERVAL_MS / 1000}s`;

    // Wire cost of single operations at this fleet size (protocol v2 versus v0).
    const probe = join(dir, 'probe');
    gitSync(dir, ['init', '-q', probe]);
    const cost = async (args) => {
      const before = { ...counters };
      await git(probe, args);
      return { requests: counters.requests - before.requests, bytes: counters.bytesDown + counters.bytesUp - before.bytesDown - before.bytesUp };
    };
    // as lsRemoteTip asks: --heads sends the ref prefix refs/heads/ (protocol v2 only)
    const lsV2 = await cost(['ls-remote', '--heads', urls[1], 'refs/heads/main']);
    const lsV0 = await cost(['-c', 'protocol.version=0', 'ls-remote', '--heads', urls[1], 'refs/heads/main']);

    // Host clones: one template, copied (setup does not go through the forge's counters).
    const template = join(dir, 'template');
    await ensureClone(bare, template, 'main');
    const hosts = [];
    await pool(Array.from({ length: live }, (_, i) => i), 8, async (i) => {
      const host = { name: hostName(i), url: urls[i % 2], dir: join(dir, 'hosts', hostName(i), 'ledger'), state: join(dir, 'hosts', hostName(i)), applied: undefined, appliedIdx: -1, errors: 0 };
      cpSync(template, host.dir, { recursive: true });
      await ensureClone(host.url, host.dir, 'main');
      host.applied = gitSync(host.dir, ['rev-parse', 'refs/remotes/origin/main']);
      hosts.push(host);
    });
    const record = (host, now) => ({ version: 1, host: host.name, appliedCommit: host.applied, reason: 'UpToDate', runAt: now.toISOString().replace(/\.\d+Z$/, 'Z'), targets: { file: { entries: LEDGER_ENTRIES } }, software: 'bench', interval });
    await pool(hosts, 8, (host) => publishHostStatus({ remote: host.url, branch: 'main', stateDir: host.state }, record(host, new Date())));
    // Steady state: each host's last heartbeat lies somewhere in the last heartbeat period.
    for (const host of hosts) {
      const p = join(host.state, 'fleet-published.json');
      const last = JSON.parse(readFileSync(p, 'utf8'));
      last.seen = new Date(Date.now() - Math.random() * beatMs).toISOString().replace(/\.\d+Z$/, 'Z');
      writeFileSync(p, JSON.stringify(last) + '\n');
    }
    const pushCost = await cost(['-C', hosts[0].dir, 'push', '-q', '--force', urls[1], 'HEAD:refs/fail2git/probe']);

    // Bans: three writers with their own clones, real pushes through the forge.
    const commits = []; // in history order: { sha, t }
    const index = new Map();
    let nextBan = LEDGER_ENTRIES + 1;
    let banning = false;
    const hook = { url: undefined, secret: 'bench-webhook-secret-0123456789' };
    let rejected = 0;
    const writerDirs = [];
    for (let w = 0; w < WRITERS; w++) {
      const wd = join(dir, `writer${w}`);
      cpSync(work, wd, { recursive: true });
      gitSync(wd, ['remote', 'add', 'origin', `http://127.0.0.1:${hw.port}/ledger.git`]);
      writerDirs.push(wd);
    }
    const writer = async (wd, w) => {
      await sleep(w * (BAN_PERIOD_MS));
      while (banning) {
        const started = Date.now();
        const ban = nextBan++;
        for (let attempt = 0; attempt < 10; attempt++) {
          await git(wd, ['fetch', '-q', 'origin', '+refs/heads/main:refs/remotes/origin/main']);
          await git(wd, ['reset', '-q', '--hard', 'refs/remotes/origin/main']);
          const path = join(wd, 'bans/active.yaml');
          writeFileSync(path, readFileSync(path, 'utf8') + banLine(ban) + '\n');
          await git(wd, ['commit', '-q', '-am', `ban 11.0.${ban >> 8 & 255}.${ban & 255}`]);
          try {
            await git(wd, ['push', '-q', 'origin', 'HEAD:main']);
          } catch {
            rejected++;
            continue;
          }
          const sha = await git(wd, ['rev-parse', 'HEAD']);
          index.set(sha, commits.length);
          commits.push({ sha, t: Date.now(), applied: 0, last: 0 });
          // As a forge does after a push: its webhook to the mirror (a poll now, nothing else).
          if (hook.url) {
            const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
            fetch(hook.url, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}` } }).catch(() => undefined);
          }
          break;
        }
        await sleep(Math.max(0, WRITERS * BAN_PERIOD_MS - (Date.now() - started)));
      }
    };

    // Hosts: the watch loop's schedule (a tick every interval with jitter, woken early by a
    // fetch that brought news), the fetch beside it (LedgerFetch: ls-remote, fetch, idle
    // back-off), and after each run the status publish.
    const latencies = [];
    let stop = false;
    const stopWaiters = new Set();
    const nap = (ms, host) => new Promise((resolve) => {
      const done = () => { clearTimeout(t); stopWaiters.delete(done); host.wake = undefined; resolve(); };
      const t = setTimeout(done, ms);
      stopWaiters.add(done);
      host.wake = done;
    });
    const applied = (host, tip) => {
      if (!tip || tip === host.applied) return;
      host.applied = tip;
      const idx = index.get(tip) ?? -1;
      const now = Date.now();
      for (let j = host.appliedIdx + 1; j <= idx; j++) {
        latencies.push(Math.max(0, now - commits[j].t));
        commits[j].applied++;
        commits[j].last = Math.max(commits[j].last, now);
      }
      if (idx > host.appliedIdx) host.appliedIdx = idx;
    };
    const hostLoop = async (host) => {
      const fetch = new LedgerFetch({
        remote: host.url, dir: host.dir, branch: 'main', run: execRunner, intervalMs: INTERVAL_MS, fleetSize: () => n,
        onNews: () => (host.wake ? host.wake() : (host.pending = true)),
        wakeHealthy: () => host.listener?.healthy ?? false,
        onResult: (r) => { if (r.error) host.errors++; else applied(host, r.tip); },
      });
      host.fetch = fetch;
      // Steady state of a quiet fleet: every host has backed off to its cap (as after a few
      // quiet polls; ramping up would take minutes), its last poll somewhere in that gap.
      const cap = idlePollCapMs ? idlePollCapMs(INTERVAL_MS, n) : INTERVAL_MS;
      if ('gap' in fetch && 'lastStart' in fetch) {
        fetch.gap = cap;
        fetch.lastStart = Date.now() - Math.random() * cap;
      }
      await nap(Math.random() * INTERVAL_MS, host);
      let publishing = false;
      while (!stop) {
        host.pending = false;
        fetch.kick();
        if (!publishing) {
          publishing = true;
          publishHostStatus({ remote: host.url, branch: 'main', stateDir: host.state }, record(host, new Date()))
            .catch(() => host.errors++)
            .finally(() => (publishing = false));
        }
        if (stop) break;
        if (!host.pending) await nap(nextWakeMs(new Date(), INTERVAL_MS, undefined, Math.random()), host);
      }
      await fetch.settle(60_000);
    };
    const snapshot = () => ({ ...counters, writers: writerCounters.requests, at: Date.now() });
    const rate = (a, b) => {
      const s = (b.at - a.at) / 1000;
      return { reqPerHost: (b.requests - a.requests) / s / live, bytesPerHost: (b.bytesDown + b.bytesUp - a.bytesDown - a.bytesUp) / s / live, writers: (b.writers - a.writers) / s, seconds: s };
    };

    log(`fleet N=${n}: ${live} live hosts, quiet phase`);
    const loops = hosts.map(hostLoop);
    const q0 = snapshot();
    await sleep(INTERVAL_MS);
    const q1 = snapshot();
    log(`fleet N=${n}: ban stream`);
    // Under a steady stream every poll brings news, so every host polls at the interval: start
    // the stream in that state (the first ban after a quiet spell waits up to the cap instead).
    for (const x of hosts) if (x.fetch && 'gap' in x.fetch) x.fetch.gap = INTERVAL_MS;
    banning = true;
    const writers = writerDirs.map(writer);
    await sleep(INTERVAL_MS);
    banning = false;
    await Promise.all(writers);
    const b1 = snapshot();
    const drain = async () => {
      const deadline = Date.now() + 2 * INTERVAL_MS;
      while (Date.now() < deadline && hosts.some((x) => x.appliedIdx < commits.length - 1)) await sleep(250);
    };
    await drain();
    const quiet = rate(q0, q1);
    const busy = rate(q1, b1);
    const toAll = commits.filter((c) => c.applied === live).map((c) => c.last - c.t);
    const missing = commits.reduce((s, c) => s + (live - c.applied), 0);
    // The polling-only figures, before the wake-up phases add their own.
    const pollLat = latencies.slice();
    const pollCommits = commits.length;
    const label = n === live ? `N=${n}` : `N=${n} (sampled: ${live} live hosts, forge holds ${n} status refs, totals ×${n / live})`;
    const s = (ms) => (ms === undefined ? NaN : ms / 1000);

    // The same fleet with the push-triggered wake-up: one mirror (serve with serve.mirror,
    // polling the forge over HTTP), every host long-polling it and fetching from it.
    const wakeRows = [];
    if (wakeMod && serveMod) {
      const mirrorState = join(dir, 'mirror');
      mkdirSync(mirrorState, { recursive: true });
      const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
      const mirrorCfg = { remote: `http://127.0.0.1:${hm.port}/ledger.git`, branch: 'main', host: 'mirror', stateDir: mirrorState, requireSignedCommits: false, publishStatus: false, interval: `${INTERVAL_MS / 1000}s`, metricsFile: join(mirrorState, 'x.prom'), path: join(mirrorState, 'config.yaml') };
      writeFileSync(join(mirrorState, 'hook.secret'), hook.secret + '\n');
      const serveCfg = { listen: '127.0.0.1:0', bouncerKeys: [], pageKeys: [], maxConnections: 2048, fleetRefresh: '24h', mirror: { interval: MIRROR_INTERVAL, keys: [], webhookSecretFile: join(mirrorState, 'hook.secret') } };
      const mirror = await serveMod.startServe(mirrorCfg, serveCfg, { log: silent, now: () => new Date() });
      const wakeUrl = `http://${mirror.address}`;
      for (let i = 0; i < 100 && !mirror.mirror.counts.tip; i++) {
        const r = await fetch(`${wakeUrl}/v1/ledger/tip`).catch(() => undefined);
        if (r?.status === 200) break;
        await sleep(100);
      }
      const listening = new AbortController();
      const listeners = hosts.map((host) => {
        host.listener = new wakeMod.WakeListener({
          url: wakeUrl, auth: {}, dir: host.dir, branch: 'main', run: execRunner, log: silent,
          onNews: () => {
            localTip(host.dir, 'main').then((tip) => applied(host, tip), () => undefined);
            host.wake ? host.wake() : (host.pending = true);
          },
          onDown: () => host.fetch.wakeDown(),
        });
        return host.listener.run(listening.signal);
      });
      while (hosts.some((x) => !x.listener.healthy) && !mirror.closed) await sleep(100);
      // Steady state of a fleet whose wake path is up: the forge polls backed off to their cap
      // whether quiet or not (news comes through the mirror), each last poll somewhere in it.
      const cap = idlePollCapMs ? idlePollCapMs(INTERVAL_MS, n) : INTERVAL_MS;
      for (const x of hosts) {
        x.fetch.gap = cap;
        x.fetch.lastStart = Date.now() - Math.random() * cap;
      }
      const mirrorSnap = () => ({ ...snapshot(), forge: mirrorCounters.requests, served: mirror.mirror.counts.tip + mirror.mirror.counts.git });
      const phase = (a, b) => {
        const secs = (b.at - a.at) / 1000;
        const hostsReq = (b.requests - a.requests) / secs / live;
        const writersReq = (b.writers - a.writers) / secs;
        return { fleetForge: hostsReq * n + (b.forge - a.forge) / secs + writersReq, mirrorForge: (b.forge - a.forge) / secs, writers: writersReq, served: ((b.served - a.served) / secs / live) * n };
      };
      log(`fleet N=${n}: wake-up, quiet`);
      const wq0 = mirrorSnap();
      await sleep(INTERVAL_MS);
      const wq1 = mirrorSnap();
      log(`fleet N=${n}: wake-up, ban stream`);
      const from = latencies.length;
      const firstWake = commits.length;
      banning = true;
      const stream = writerDirs.map(writer);
      await sleep(INTERVAL_MS);
      banning = false;
      await Promise.all(stream);
      const wb1 = mirrorSnap();
      await drain();
      const wakeLat = latencies.slice(from);
      const wakeMissing = commits.slice(firstWake).reduce((acc, c) => acc + (live - c.applied), 0);
      const wakeCommits = commits.length - firstWake;
      // The same with the forge's webhook: each push makes the mirror poll at once.
      log(`fleet N=${n}: wake-up with the webhook, ban stream`);
      hook.url = `${wakeUrl}/v1/hooks/push`;
      const fromH = latencies.length;
      const firstHook = commits.length;
      const wh0 = mirrorSnap();
      banning = true;
      const streamH = writerDirs.map(writer);
      await sleep(INTERVAL_MS);
      banning = false;
      await Promise.all(streamH);
      const wh1 = mirrorSnap();
      await drain();
      hook.url = undefined;
      const hookLat = latencies.slice(fromH);
      const hookMissing = commits.slice(firstHook).reduce((acc, c) => acc + (live - c.applied), 0);
      const busyH = phase(wh0, wh1);
      // The wake path down: the mirror stops; hosts fall back to polling the forge.
      log(`fleet N=${n}: wake path down, ban stream`);
      await mirror.close();
      mirror.closed = true;
      await sleep(2_000);
      const down = hosts.filter((x) => !x.listener.healthy).length;
      const from2 = latencies.length;
      const firstDown = commits.length;
      const d0 = snapshot();
      banning = true;
      const stream2 = writerDirs.map(writer);
      await sleep(INTERVAL_MS);
      banning = false;
      await Promise.all(stream2);
      const d1 = snapshot();
      await drain();
      listening.abort();
      await Promise.all(listeners);
      const downLat = latencies.slice(from2);
      const downMissing = commits.slice(firstDown).reduce((acc, c) => acc + (live - c.applied), 0);
      const quietW = phase(wq0, wq1);
      const busyW = phase(wq1, wb1);
      const busyD = rate(d0, d1);
      const p = (xs, q) => s(percentile(xs, q));
      const at1000 = n === 1000;
      wakeRows.push(
        { name: `${label}, wake-up: forge requests/s, whole fleet, quiet (hosts + the mirror's ${MIRROR_INTERVAL} polls)`, value: quietW.fleetForge, unit: 'req/s', target: at1000 ? '≤ 10' : undefined, ok: at1000 ? quietW.fleetForge <= 10 : undefined },
        { name: `${label}, wake-up: forge requests/s, whole fleet, ban stream (of which the mirror / the writers' own)`, value: `${busyW.fleetForge.toFixed(1)} (${busyW.mirrorForge.toFixed(1)} / ${busyW.writers.toFixed(1)})`, unit: 'req/s' },
        { name: `${label}, wake-up: mirror requests/s (long-polls + git over HTTP), whole fleet, quiet / ban stream`, value: `${quietW.served.toFixed(1)} / ${busyW.served.toFixed(1)}`, unit: 'req/s' },
        { name: `${label}, wake-up: propagation p50 (${wakeLat.length} pairs)`, value: p(wakeLat, 0.5), unit: 's', target: at1000 ? '≤ 3 s' : undefined, ok: at1000 ? p(wakeLat, 0.5) <= 3 : undefined },
        { name: `${label}, wake-up: propagation p99`, value: p(wakeLat, 0.99), unit: 's', target: at1000 ? '≤ 15 s' : undefined, ok: at1000 ? p(wakeLat, 0.99) <= 15 : undefined },
        { name: `${label}, wake-up: bans not applied by some host at the end (of ${wakeCommits})`, value: wakeMissing, unit: '' },
        { name: `${label}, wake-up + webhook: forge requests/s, whole fleet, ban stream (of which the mirror)`, value: `${busyH.fleetForge.toFixed(1)} (${busyH.mirrorForge.toFixed(1)})`, unit: 'req/s' },
        { name: `${label}, wake-up + webhook: propagation p50 / p99 (${hookLat.length} pairs)`, value: `${p(hookLat, 0.5).toFixed(2)} / ${p(hookLat, 0.99).toFixed(2)}`, unit: 's', target: at1000 ? '≤ 3 s / ≤ 15 s' : undefined, ok: at1000 ? p(hookLat, 0.5) <= 3 && p(hookLat, 0.99) <= 15 : undefined },
        { name: `${label}, wake-up + webhook: bans not applied by some host at the end (of ${commits.length - firstHook})`, value: hookMissing, unit: '' },
        { name: `${label}, wake path down (mirror stopped; ${down} of ${live} hosts saw it): forge requests/s, whole fleet, ban stream (hosts + writers)`, value: busyD.reqPerHost * n + busyD.writers, unit: 'req/s' },
        { name: `${label}, wake path down: propagation p50 / p99 (${downLat.length} pairs)`, value: `${p(downLat, 0.5).toFixed(1)} / ${p(downLat, 0.99).toFixed(1)}`, unit: 's' },
        { name: `${label}, wake path down: bans not applied by some host at the end (of ${commits.length - firstDown})`, value: downMissing, unit: '' },
      );
    }
    stop = true;
    for (const w of [...stopWaiters]) w();
    await Promise.all(loops);
    return [
      { name: `${label}: forge requests/s per host, quiet`, value: quiet.reqPerHost, unit: 'req/s' },
      { name: `${label}: forge requests/s, whole fleet, quiet`, value: quiet.reqPerHost * n, unit: 'req/s', target: n === 1000 ? '≤ 10' : undefined, ok: n === 1000 ? quiet.reqPerHost * n <= 10 : undefined },
      { name: `${label}: forge bytes/s per host, quiet`, value: quiet.bytesPerHost, unit: 'B/s' },
      { name: `${label}: forge requests/s per host, ban stream (1 ban / ${BAN_PERIOD_MS / 1000} s)`, value: busy.reqPerHost, unit: 'req/s' },
      { name: `${label}: forge bytes/s per host, ban stream`, value: busy.bytesPerHost, unit: 'B/s' },
      { name: `${label}: forge requests/s, whole fleet, ban stream (hosts + the writers' own ${busy.writers.toFixed(1)})`, value: busy.reqPerHost * n + busy.writers, unit: 'req/s' },
      { name: `${label}: propagation p50, push → a host's applied commit (${pollLat.length} pairs)`, value: s(percentile(pollLat, 0.5)), unit: 's', target: n === 1000 ? '≤ 3 s' : undefined, ok: n === 1000 ? s(percentile(pollLat, 0.5)) <= 3 : undefined },
      { name: `${label}: propagation p99`, value: s(percentile(pollLat, 0.99)), unit: 's', target: n === 1000 ? '≤ 15 s' : undefined, ok: n === 1000 ? s(percentile(pollLat, 0.99)) <= 15 : undefined },
      { name: `${label}: propagation p50 to every host (${toAll.length} of ${pollCommits} bans)`, value: s(percentile(toAll, 0.5)), unit: 's' },
      { name: `${label}: bans not applied by some host at the end / writer retries`, value: `${missing} / ${rejected}`, unit: '' },
      { name: `${label}: bytes of one ls-remote over HTTP, protocol v2 / v0`, value: `${lsV2.bytes} / ${lsV0.bytes}`, unit: 'B' },
      { name: `${label}: bytes of one status push over HTTP (receive-pack advertises every ref)`, value: pushCost.bytes, unit: 'B' },
      ...wakeRows,
    ];
  } finally {
    for (const c of closers) c();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run({ root, log }) {
  const rows = [];
  for (const n of SIZES) rows.push(...(await simulate(root, n, log)));
  return {
    section: 'Fleet: forge cost and propagation (issue 18)',
    rows,
    notes: [
      `Hosts run the reconciler's wire code from dist/ (syncClone, publishHostStatus) on the watch loop's schedule at --interval ${INTERVAL_MS / 1000}s; half use git daemon, half smart HTTP (git http-backend). A forge request is one TCP connection to git daemon or one HTTP request; bytes are both directions.`,
      `Quiet: one interval without bans, hosts in their steady state (heartbeats spread over a heartbeat, polls backed off to their cap). Ban stream (every host back at the interval, as every poll brings news): ${WRITERS} writers pushing one ban every ${BAN_PERIOD_MS / 1000} s in all for one interval, on a ${LEDGER_ENTRIES}-entry ledger. Propagation is from the writer's push returning to a host's fetch bringing a commit that contains the ban (the enforce step is not included).`,
      `N = 1,000 is sampled: the forge holds 1,000 status refs, ${LIVE_MAX} hosts run live and per-host figures are theirs; the fleet totals are per-host × 1,000. The forge's own CPU under 1,000 live hosts is not simulated. Details: docs/scale.md.`,
      `Wake-up rows: one mirror (fail2git serve with serve.mirror, interval ${MIRROR_INTERVAL}, from dist/) polls the forge over HTTP; every live host runs the reconciler's WakeListener (long-poll GET /v1/ledger/tip, git fetch from /ledger.git, fast-forward only) beside its LedgerFetch, whose forge polls stay backed off to their cap while the wake path is up. Whole-fleet forge figures are hosts × N / live + the mirror's polls + the writers' own fetches and pushes (both counted once). Mirror requests are long-polls plus git HTTP requests, per host × N. "Wake path down": the mirror is stopped before a ban stream; hosts fall back to polling the forge.`,
    ],
  };
}
