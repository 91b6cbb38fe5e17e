// Bench for the fail2ban side with the real fail2ban-server (issue 12): a restart with 2,000
// bans restored from fail2ban's database, the time until the jail has handled all of them,
// with fail2ban's own iptables-ipset action alone (the baseline) and with the fail2git action
// next to it (as docs/fail2ban.md installs it), in the same run.
//
// Everything runs inside a network namespace of its own (`ip netns exec`), so the ipset and
// iptables rules fail2ban creates never touch the host's firewall.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

export async function run({ root: repo, log }) {
  const section = 'fail2ban restart with restored bans (issue 12)';
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
  const stop = () => {
    if (existsSync(join(run, 'f2b.sock'))) {
      try {
        client('stop');
      } catch {
        /* already gone */
      }
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
    let errors = 0;
    for (let i = 0; i < ROUNDS; i++) {
      log(`fail2ban restart ${i + 1}/${ROUNDS}`);
      const b = await restart([ipset]);
      const o = await restart([ipset, fail2git]);
      base.push(b.ms);
      ours.push(o.ms);
      errors += b.errors + o.errors;
    }
    const b = median(base);
    const o = median(ours);
    return {
      section,
      rows: [
        { name: `restart with ${BANS.toLocaleString('en')} restored bans: iptables-ipset alone (baseline, median of ${ROUNDS})`, value: b / 1000, unit: 's' },
        { name: `restart with ${BANS.toLocaleString('en')} restored bans: iptables-ipset + fail2git (median of ${ROUNDS})`, value: o / 1000, unit: 's', baseline: b / 1000, ratio: o / b },
        { name: 'fail2git\'s cost per restored ban', value: (o - b) / BANS, unit: 'ms' },
        { name: 'ERROR lines in fail2ban\'s log, all restarts', value: errors, unit: 'lines', target: '0', ok: errors === 0 },
      ],
      notes: [
        `"Ready": from \`fail2ban-client start\` until fail2ban's log shows all ${BANS.toLocaleString('en')} bans restored and the last one is in the jail's ipset. fail2ban runs every action for every restored ticket; the fail2git action skips them in its own shell line (\`[ "<restored>" = 1 ] ||\`), so no node process starts per restored ban: what is left is the \`sh -c\` fail2ban starts for every action of every ticket (the iptables-ipset action pays the same plus an \`ipset add\`). fail2ban-server runs in a network namespace of its own.`,
      ],
    };
  } finally {
    stop();
    try {
      execFileSync('ip', ['netns', 'delete', ns]);
    } catch {
      /* gone */
    }
    rmSync(root, { recursive: true, force: true });
  }
}
