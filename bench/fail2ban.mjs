// Bench for the fail2ban side with the real fail2ban-server (issue 12): a restart with 2,000
// bans restored from fail2ban's database, the time until the jail has handled all of them,
// with fail2ban's own iptables-ipset action alone (the baseline) and with the fail2git action
// next to it (as docs/fail2ban.md installs it), and with the in-process fail2git.py instead, in
// the same run.
// And a storm (issue 14): 1,000 new bans fired at one jail (`fail2ban-client set JAIL banip`
// with 1,000 addresses: fail2ban's own ban path, Actions.__checkBan running every action of
// every ticket one after another), timed until fail2ban has run every action (each address
// in the ipset, each record fsynced in the spool), paired against the same jail with
// iptables-ipset alone and against iptables-ipset + fail2git.py (the same records written in
// fail2ban-server's own process: no sh, no sync), plus two jails that show where fail2ban's
// own time per ban goes.
//
// Everything runs inside a network namespace of its own (`ip netns exec`), so the ipset and
// iptables rules fail2ban creates never touch the host's firewall.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { median } from './lib/stats.mjs';
import { makeRemote } from './lib/ledger-remote.mjs';

const BANS = 2000;
const ROUNDS = 3;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const have = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

/** A fail2ban config dir (-c) with the distribution's action.d, our action, a one-line filter. */
function fail2banConf(root, repo, run) {
  const conf = join(root, 'conf');
  mkdirSync(join(conf, 'filter.d'), { recursive: true });
  mkdirSync(join(conf, 'jail.d'), { recursive: true });
  cpSync('/etc/fail2ban/action.d', join(conf, 'action.d'), { recursive: true });
  copyFileSync(join(repo, 'hooks', 'fail2ban', 'fail2git.conf'), join(conf, 'action.d', 'fail2git.conf'));
  copyFileSync(join(repo, 'hooks', 'fail2ban', 'fail2git.py'), join(conf, 'action.d', 'fail2git.py'));
  // Seeding only: a local action with nothing to run, so the 2,000 bans land in the database fast.
  writeFileSync(join(conf, 'action.d', 'seed.conf'), '[Definition]\nactionstart =\nactionstop =\nactioncheck =\nactionban =\nactionunban =\n');
  writeFileSync(join(conf, 'filter.d', 'bench.conf'), '[Definition]\nfailregex = ^FAIL login from <HOST>$\ndatepattern = {NONE}\n');
  writeFileSync(join(conf, 'fail2ban.conf'), [
    '[Definition]', 'loglevel = NOTICE', `logtarget = ${join(run, 'fail2ban.log')}`, 'syslogsocket = auto', 'allowipv6 = auto',
    `socket = ${join(run, 'f2b.sock')}`, `pidfile = ${join(run, 'f2b.pid')}`, `dbfile = ${join(run, 'f2b.sqlite3')}`, 'dbpurgeage = 7d', '',
  ].join('\n'));
  writeFileSync(join(run, 'auth.log'), '');
  return conf;
}

function jailConf(conf, run, actions) {
  writeFileSync(join(conf, 'jail.conf'), [
    '[DEFAULT]', 'backend = polling', '',
    '[benchjail]', 'enabled = true', 'filter = bench', `logpath = ${join(run, 'auth.log')}`, 'maxretry = 1', 'findtime = 600', 'bantime = 1d',
    `action = ${actions.join('\n         ')}`, '',
  ].join('\n'));
}

const ips = Array.from({ length: BANS }, (_, i) => `100.80.${Math.floor(i / 250)}.${(i % 250) + 1}`);
const STORM = 1000;
const STORM_ROUNDS = 3;
const stormIps = (round) => Array.from({ length: STORM }, (_, i) => `100.${90 + round}.${Math.floor(i / 250)}.${(i % 250) + 1}`);

// Inside the namespace: fail2ban's own action line `sh -c "ipset -exist add SET IP timeout 0"` alone, 51 times.
const IPSET_SH = `
const { spawnSync } = await import('node:child_process');
spawnSync('ipset', ['create', 'f2b-shbench', 'hash:ip', 'timeout', '0', '-exist']);
const t = [];
for (let i = 0; i < 51; i++) {
  const s = process.hrtime.bigint();
  spawnSync('sh', ['-c', 'ipset -exist add f2b-shbench 100.99.' + (i >> 8) + '.' + ((i & 255) + 1) + ' timeout 0'], { stdio: 'ignore' });
  t.push(Number(process.hrtime.bigint() - s) / 1e6);
}
spawnSync('ipset', ['destroy', 'f2b-shbench']);
process.stdout.write(JSON.stringify(t));
`;

export async function run({ root: repo, log }) {
  const section = 'fail2ban-server: a restart with restored bans (issue 12), a storm of new bans (issue 14)';
  if (!have('fail2ban-server') || !have('ipset') || !have('iptables') || process.getuid?.() !== 0) {
    return { section, rows: [], notes: ['Skipped: needs root, fail2ban-server, ipset and iptables (apt-get install fail2ban ipset iptables).'] };
  }
  const cli = join(repo, 'dist', 'bin', 'fail2git.js');
  const root = mkdtempSync(join(tmpdir(), 'f2g-bench-f2b-'));
  const ns = `f2gb${randomBytes(3).toString('hex')}`;
  const run = join(root, 'run');
  mkdirSync(run);
  execFileSync('ip', ['netns', 'add', ns]);
  const inNs = (cmd, args, opts = {}) => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 300_000, ...opts });
  const conf = fail2banConf(root, repo, run);
  const client = (...args) => inNs('fail2ban-client', ['-c', conf, '-s', join(run, 'f2b.sock'), '-p', join(run, 'f2b.pid'), ...args]);
  /** Stops the server and waits until it is gone (a server still stopping would destroy the next one's ipset). */
  const stop = () => {
    if (!existsSync(join(run, 'f2b.sock'))) return;
    let pid = 0;
    try {
      pid = Number(readFileSync(join(run, 'f2b.pid'), 'utf8').trim());
    } catch {
      /* no pidfile */
    }
    try {
      client('stop');
    } catch {
      /* already gone */
    }
    const limit = Date.now() + 60_000;
    while (pid > 0 && Date.now() < limit) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      spawnSync('sleep', ['0.05']);
    }
  };
  try {
    const bare = makeRemote(root, repo);
    const stateDir = join(root, 'state');
    const config = join(root, 'host.yaml');
    writeFileSync(config, `remote: ${bare}\nbranch: main\nhost: benchhost\nstateDir: ${stateDir}\n`);
    execFileSync(process.execPath, [cli, 'flush', '--config', config], { stdio: 'ignore' });

    // Seed: 2,000 bans in fail2ban's database, then keep a copy to start every round from.
    jailConf(conf, run, ['seed']);
    client('-x', 'start');
    client('set', 'benchjail', 'banip', ...ips);
    const deadline = Date.now() + 120_000;
    while (!new RegExp(`Currently banned:\\s+${BANS}\\b`).test(client('status', 'benchjail'))) {
      if (Date.now() > deadline) throw new Error('seeding: fail2ban did not ban 2,000 addresses');
      await sleep(200);
    }
    stop();
    copyFileSync(join(run, 'f2b.sqlite3'), join(root, 'seed.sqlite3'));

    const ipset = 'iptables-ipset[name=benchjail]';
    const fail2git = `fail2git[fail2git="${process.execPath} ${cli}", config=${config}]`;
    const fail2gitPy = `fail2git.py[fail2git="${process.execPath} ${cli}", config=${config}]`;
    // fail2git.py with a stand-in for the CLI whose "flusher" only sleeps: the records alone, no flusher competing for the CPU.
    const standIn = join(root, 'no-flusher');
    writeFileSync(standIn, '#!/bin/sh\n[ "$1" = flush ] && exec sleep 300\nexit 0\n', { mode: 0o755 });
    const fail2gitPyAlone = `fail2git.py[fail2git=${standIn}, config=${config}]`;
    /** `fail2ban-client start` → the log shows every restored ban handled and the jail answers. */
    const restart = async (actions) => {
      jailConf(conf, run, actions);
      copyFileSync(join(root, 'seed.sqlite3'), join(run, 'f2b.sqlite3'));
      writeFileSync(join(run, 'fail2ban.log'), '');
      const start = process.hrtime.bigint();
      client('-x', 'start');
      const limit = Date.now() + 300_000;
      for (;;) {
        const restored = (readFileSync(join(run, 'fail2ban.log'), 'utf8').match(/Restore Ban /g) ?? []).length;
        if (restored >= BANS) break;
        if (Date.now() > limit) throw new Error(`restart: ${restored} of ${BANS} bans restored after 300 s`);
        await sleep(5);
      }
      // The last restored ticket's actions run after its log line; the ipset holds it when done.
      const last = ips[ips.length - 1];
      while (spawnSync('ip', ['netns', 'exec', ns, 'ipset', 'test', 'f2b-benchjail', last], { stdio: 'ignore' }).status !== 0) {
        if (Date.now() > limit) throw new Error('restart: the last restored ban never reached the ipset');
        await sleep(5);
      }
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const errors = (readFileSync(join(run, 'fail2ban.log'), 'utf8').match(/ERROR/g) ?? []).length;
      stop();
      return { ms, errors };
    };

    const base = [];
    const ours = [];
    const oursPy = [];
    let errors = 0;
    for (let i = 0; i < ROUNDS; i++) {
      log(`fail2ban restart ${i + 1}/${ROUNDS}`);
      const b = await restart([ipset]);
      const o = await restart([ipset, fail2git]);
      const p = await restart([ipset, fail2gitPy]);
      base.push(b.ms);
      ours.push(o.ms);
      oursPy.push(p.ms);
      errors += b.errors + o.errors + p.errors;
    }
    // Storms of new bans (a fresh database each time: nothing restored).
    const nop = 'nop';
    writeFileSync(join(conf, 'action.d', 'nop.conf'), '[Definition]\nactionstart =\nactionstop =\nactioncheck =\nactionban = true\nactionunban = true\n');
    const watchPid = () => {
      try {
        return Number(readFileSync(join(stateDir, 'watch.lock'), 'utf8').split(' ')[0]);
      } catch {
        return 0;
      }
    };
    const onRemote = (list) => {
      const text = execFileSync('git', ['-C', bare, 'show', 'main:bans/active.yaml'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      return list.filter((ip) => text.includes(`cidr: ${ip},`)).length;
    };
    const storm = async (actions, list, withFail2git) => {
      jailConf(conf, run, actions);
      rmSync(join(run, 'f2b.sqlite3'), { force: true });
      writeFileSync(join(run, 'fail2ban.log'), '');
      client('-x', 'start');
      // The jail answers, and ours has its resident flusher up (its actionstart), as before a real storm.
      const ready = Date.now() + 60_000;
      const alive = (pid) => {
        try {
          return pid > 0 && (process.kill(pid, 0), true);
        } catch {
          return false;
        }
      };
      for (;;) {
        // (iptables-ipset makes its set at the first ban: fail2ban starts it on demand.)
        let status = '';
        try {
          status = client('status', 'benchjail');
        } catch {
          /* not up yet */
        }
        if (/Currently banned:\s+0\b/.test(status) && (!withFail2git || alive(watchPid()))) break;
        if (Date.now() > ready) throw new Error(`storm: the jail's actions did not start within 60 s (${actions.join(', ')})`);
        await sleep(50);
      }
      const start = process.hrtime.bigint();
      client('set', 'benchjail', 'banip', ...list);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      let inSet = 0;
      try {
        inSet = Number(/Number of entries: (\d+)/.exec(inNs('ipset', ['list', '-t', 'f2b-benchjail'], { stdio: ['ignore', 'pipe', 'ignore'] }))?.[1] ?? 0);
      } catch {
        /* no such set: the jail has no ipset action */
      }
      let remoteMs;
      if (withFail2git) {
        const limit = Date.now() + 120_000;
        while (onRemote(list) < list.length && Date.now() < limit) await sleep(100);
        remoteMs = Number(process.hrtime.bigint() - start) / 1e6 - ms;
      }
      const errors = (readFileSync(join(run, 'fail2ban.log'), 'utf8').match(/ERROR/g) ?? []).length;
      stop();
      return { ms, inSet, remoteMs, errors };
    };
    const stormLoad = loadavg()[0];
    const ipsetSh = JSON.parse(inNs(process.execPath, ['--input-type=module', '-e', IPSET_SH]));
    const st = { base: [], ours: [], py: [], pyAlone: [], nop: [], seed: [], remote: [], remotePy: [] };
    const records = () => readdirSync(join(stateDir, 'spool')).filter((n) => /^[0-9a-f]{32}\.f2b$/.test(n));
    let stormErrors = 0;
    let missing = 0;
    for (let r = 0; r < STORM_ROUNDS; r++) {
      log(`fail2ban storm of ${STORM} bans ${r + 1}/${STORM_ROUNDS}`);
      const b = await storm([ipset], stormIps(2 * r), false);
      const o = await storm([ipset, fail2git], stormIps(2 * r + 1), true);
      const p = await storm([ipset, fail2gitPy], stormIps(10 + r), true);
      // The same with no flusher running: stop the resident one, fire, count the records, drop them.
      const w = watchPid();
      if (w > 0) {
        try {
          process.kill(w, 'SIGTERM');
        } catch {
          /* gone */
        }
        const gone = Date.now() + 60_000;
        while ((existsSync(join(stateDir, 'watch.lock')) || existsSync(join(stateDir, 'flush.lock'))) && Date.now() < gone) await sleep(50);
      }
      const q = await storm([ipset, fail2gitPyAlone], stormIps(13 + r), false);
      const left = records();
      missing += STORM - left.length + (STORM - q.inSet);
      try {
        process.kill(Number(readFileSync(join(stateDir, 'watch.start'), 'utf8')), 'SIGTERM');
      } catch {
        /* not started */
      }
      rmSync(join(stateDir, 'watch.start'), { force: true });
      for (const n of left) rmSync(join(stateDir, 'spool', n), { force: true });
      st.pyAlone.push(q.ms);
      stormErrors += q.errors;
      const n = await storm([`${nop}`], stormIps(8), false);
      const e = await storm(['seed'], stormIps(9), false);
      st.base.push(b.ms);
      st.ours.push(o.ms);
      st.py.push(p.ms);
      st.remotePy.push(p.remoteMs);
      st.nop.push(n.ms);
      st.seed.push(e.ms);
      st.remote.push(o.remoteMs);
      stormErrors += b.errors + o.errors + p.errors + n.errors + e.errors;
      missing += (STORM - b.inSet) + (STORM - o.inSet) + (STORM - onRemote(stormIps(2 * r + 1))) + (STORM - p.inSet) + (STORM - onRemote(stormIps(10 + r)));
    }
    const sb = median(st.base);
    const so = median(st.ours);
    const sp = median(st.py);
    const sa = median(st.pyAlone);
    const sn = median(st.nop);
    const se = median(st.seed);
    const sh = median(ipsetSh);
    const stormRows = [
      { name: `storm of ${STORM} bans (fail2ban-client set JAIL banip): iptables-ipset alone (baseline, median of ${STORM_ROUNDS})`, value: sb / 1000, unit: 's' },
      { name: `storm of ${STORM} bans: iptables-ipset + fail2git (median of ${STORM_ROUNDS})`, value: so / 1000, unit: 's', baseline: sb / 1000, ratio: so / sb, target: '≤ 10 s', ok: so <= 10_000 },
      { name: 'storm: per ban, iptables-ipset alone (fail2ban\'s own)', value: sb / STORM, unit: 'ms' },
      { name: 'storm: per ban, fail2git\'s action on top (difference)', value: (so - sb) / STORM, unit: 'ms', baseline: sb / STORM, ratio: (so - sb) / sb },
      { name: `storm of ${STORM} bans: iptables-ipset + fail2git.py, in fail2ban-server's process (median of ${STORM_ROUNDS})`, value: sp / 1000, unit: 's', baseline: sb / 1000, ratio: sp / sb, target: '≤ 10 s', ok: sp <= 10_000 },
      { name: 'storm: per ban, fail2git.py on top (difference)', value: (sp - sb) / STORM, unit: 'ms', baseline: sb / STORM, ratio: (sp - sb) / sb },
      { name: `storm of ${STORM} bans: iptables-ipset + fail2git.py, no flusher running (the records alone; median of ${STORM_ROUNDS})`, value: sa / 1000, unit: 's', baseline: sb / 1000, ratio: sa / sb },
      { name: 'storm: per ban, fail2git.py\'s records alone on top (difference)', value: (sa - sb) / STORM, unit: 'ms', baseline: sb / STORM, ratio: (sa - sb) / sb },
      { name: 'storm: per ban, a jail whose only action is `actionban = true` (one sh per ban)', value: sn / STORM, unit: 'ms' },
      { name: 'storm: per ban, a jail whose action runs nothing (fail2ban\'s own bookkeeping, no process)', value: se / STORM, unit: 'ms' },
      { name: 'fail2ban\'s action line `sh -c "ipset -exist add …"` run alone, p50 (51 runs)', value: sh, unit: 'ms' },
      { name: `storm: all ${STORM} on the remote after fail2ban ran the last action (median of ${STORM_ROUNDS})`, value: median(st.remote) / 1000, unit: 's', target: '≤ 30 s', ok: median(st.remote) <= 30_000 },
      { name: `storm: all ${STORM} on the remote after fail2ban ran the last action, fail2git.py (median of ${STORM_ROUNDS})`, value: median(st.remotePy) / 1000, unit: 's', target: '≤ 30 s', ok: median(st.remotePy) <= 30_000 },
      { name: 'storm: bans missing from the ipset or the remote, ERROR lines in fail2ban\'s log', value: missing, unit: `missing, ${stormErrors} ERROR lines`, target: '0, 0', ok: missing === 0 && stormErrors === 0 },
    ];

    const b = median(base);
    const o = median(ours);
    const op = median(oursPy);
    return {
      section,
      rows: [
        { name: `restart with ${BANS.toLocaleString('en')} restored bans: iptables-ipset alone (baseline, median of ${ROUNDS})`, value: b / 1000, unit: 's' },
        { name: `restart with ${BANS.toLocaleString('en')} restored bans: iptables-ipset + fail2git (median of ${ROUNDS})`, value: o / 1000, unit: 's', baseline: b / 1000, ratio: o / b },
        { name: 'fail2git\'s cost per restored ban', value: (o - b) / BANS, unit: 'ms' },
        { name: `restart with ${BANS.toLocaleString('en')} restored bans: iptables-ipset + fail2git.py (median of ${ROUNDS})`, value: op / 1000, unit: 's', baseline: b / 1000, ratio: op / b },
        { name: 'fail2git.py\'s cost per restored ban', value: (op - b) / BANS, unit: 'ms' },
        { name: 'ERROR lines in fail2ban\'s log, all restarts', value: errors, unit: 'lines', target: '0', ok: errors === 0 },
        ...stormRows,
      ],
      notes: [
        `Storm: \`fail2ban-client set benchjail banip\` with ${STORM.toLocaleString('en')} new addresses, timed until it returns: fail2ban runs the ban path of a log-line ban (Actions.__checkBan: ban manager, NOTICE line, every action of the ticket in turn, the observer's database insert) for each address on the command's thread and answers when all actions ran, so each address is in the ipset and each fail2git record is fsynced in the spool. Each storm starts a fresh server with an empty database; each fail2git jail (the shell action \`fail2git\`, or the in-process \`fail2git.py\`, which writes the same records with the same fsyncs inside fail2ban-server) has its resident flusher up (its actionstart) first. The fail2git.py jail runs twice: as installed (its resident flusher delivers the storm meanwhile, competing with fail2ban for the 2 cores), and with no flusher running (a stand-in CLI: the records wait in the spool and are counted), which is what fail2ban's thread itself pays for the in-process action. The two jails below show where fail2ban's own time per ban goes: one whose only action is \`actionban = true\` (one \`sh\` per ban, nothing else), one whose action runs nothing (fail2ban's bookkeeping alone). Load average (1 min) before the storms: ${stormLoad.toFixed(1)} (the whole machine; other work shares these 2 cores).`,
        `"Ready": from \`fail2ban-client start\` until fail2ban's log shows all ${BANS.toLocaleString('en')} bans restored and the last one is in the jail's ipset. fail2ban runs every action for every restored ticket; the fail2git action skips them in its own shell line (\`[ "<restored>" = 1 ] ||\`), so no node process starts per restored ban (fail2git.py returns at once for them, no process at all): what is left is the \`sh -c\` fail2ban starts for every action of every ticket (the iptables-ipset action pays the same plus an \`ipset add\`). fail2ban-server runs in a network namespace of its own.`,
      ],
    };
  } finally {
    stop();
    // The resident flusher the fail2git jails started (it would stay for its 10 idle minutes).
    try {
      process.kill(Number(readFileSync(join(root, 'state', 'watch.lock'), 'utf8').split(' ')[0]), 'SIGTERM');
    } catch {
      /* none runs */
    }
    try {
      execFileSync('ip', ['netns', 'delete', ns]);
    } catch {
      /* gone */
    }
    rmSync(root, { recursive: true, force: true });
  }
}
