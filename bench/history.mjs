// Bench for issue 6: `audit` of one address in a ledger with 10,000 commits (≤ 2 s wall),
// and `gc` of 10,000 expired entries out of 100,000 (≤ 3 s wall, one commit).
// Histories are built with `git fast-import` (seconds, not minutes). Whole CLI processes are timed.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './lib/stats.mjs';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' };
const HEADER = 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n';
const iso = (s) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function git(cwd, args, input) {
  return execFileSync('git', args, { cwd, env: GIT_ENV, input, maxBuffer: 1 << 30, encoding: 'utf8' });
}

function timeCli(root, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(root, 'dist/bin/fail2git.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`fail2git ${args[0]} failed: ${r.stderr.trim()}`);
  return { s, stdout: r.stdout };
}

/** Writes a fast-import stream to `path`: `commits` commits of hook bans, extensions, hand edits and gc. */
function writeHistoryStream(path, commits) {
  const live = new Map(); // cidr → line
  const fd = openSync(path, 'w');
  const out = { push: (text) => writeSync(fd, text) };
  let t = Date.UTC(2026, 0, 1) / 1000;
  let mark = 0;
  const entry = (cidr, exp, by, count) => `  - {cidr: ${cidr}, expires: ${iso(exp)}, at: ${iso(t)}, by: ${by}, jail: sshd, count: ${count}}`;
  const sortKey = (c) => c.split('.').map((n) => n.padStart(3, '0')).join('.');
  const commit = (author, message) => {
    const lines = [...live.entries()].sort((a, b) => (sortKey(a[0]) < sortKey(b[0]) ? -1 : 1)).map((e) => e[1]);
    const text = lines.length ? HEADER + lines.join('\n') + '\n' : HEADER.replace('bans:\n', 'bans: []\n');
    const msg = Buffer.from(message);
    out.push(`commit refs/heads/main\nmark :${++mark}\nauthor ${author} <fail2git@${author}> ${t} +0000\ncommitter ${author} <fail2git@${author}> ${t} +0000\ndata ${msg.length}\n${message}\n`);
    if (mark > 1) out.push(`from :${mark - 1}\n`);
    out.push(`M 100644 inline bans/active.yaml\ndata ${Buffer.byteLength(text)}\n${text}\n`);
  };
  commit('seed', 'seed ledger\n');
  let rnd = 12345;
  const random = () => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 1; i < commits; i++) {
    t += 60;
    const host = `web${1 + (i % 7)}`;
    if (i % 100 === 0) {
      // gc: everything expired goes, listed in trailers
      const expiry = (c) => live.get(c).match(/expires: (\S+),/)?.[1];
      const gone = [...live.keys()].filter((c) => expiry(c) && Date.parse(expiry(c)) / 1000 < t);
      for (const c of gone) live.delete(c);
      commit('gc1', `gc: expire ${gone.length} bans\n\n${gone.map((c) => `Fail2git-Op: expire\nFail2git-Cidr: ${c}\nFail2git-Host: gc1`).join('\n')}\n`);
    } else if (i % 997 === 0) {
      // a person's hand edit, no trailers
      live.set('203.0.113.0/24', `  - {cidr: 203.0.113.0/24, at: ${iso(t)}, by: alice, reason: "hand edit ${i}"}`);
      commit('alice', `block a range by hand (${i})\n`);
    } else {
      const cidr = i % 1500 === 1 ? '203.0.113.7' : `10.${Math.floor(random() * 4)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`;
      const count = (live.has(cidr) ? Number(live.get(cidr).match(/count: (\d+)/)[1]) : 0) + 1;
      live.set(cidr, entry(cidr, t + 3600, host, count));
      commit(host, `ban ${cidr} (sshd@${host}, 1h)\n\nFail2git-Op: ban\nFail2git-Cidr: ${cidr}\nFail2git-Jail: sshd\nFail2git-Host: ${host}\nFail2git-Expires: ${iso(t + 3600)}\nFail2git-Count: ${count}\n`);
    }
  }
  closeSync(fd);
}

async function benchAudit(root, dir, log) {
  const repo = join(dir, 'audit');
  git(dir, ['init', '-q', '-b', 'main', repo]);
  const t0 = Date.now();
  const stream = join(dir, 'history.fi');
  writeHistoryStream(stream, 10_000);
  const fd = openSync(stream, 'r');
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, env: GIT_ENV, stdio: [fd, 'ignore', 'inherit'] });
  closeSync(fd);
  git(repo, ['reset', '-q', '--hard', 'main']);
  log(`audit: built 10,000 commits in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const count = Number(git(repo, ['rev-list', '--count', 'main']).trim());
  const raw = [];
  for (let i = 0; i < 3; i++) {
    const s = process.hrtime.bigint();
    git(repo, ['log', '--format=%H%x1f%s%x1f%b', 'main']);
    raw.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  const runs = [];
  let out = '';
  for (let i = 0; i < 5; i++) {
    const r = timeCli(root, ['audit', '203.0.113.7', '--ledger', repo]);
    runs.push(r.s);
    out = r.stdout;
  }
  const events = out.split('\n').filter((l) => /^\d{4}-/.test(l)).length;
  const wall = median(runs);
  return [
    { name: `audit 203.0.113.7, ${count} commits (median of 5, whole process)`, value: wall, unit: 's', baseline: median(raw), ratio: wall / median(raw), target: '≤ 2 s', ok: wall <= 2 },
    { name: 'audit events found', value: events, unit: 'events' },
  ];
}

async function benchGc(root, dir) {
  const work = join(dir, 'gc-work');
  const bare = join(dir, 'gc.git');
  git(dir, ['init', '-q', '--bare', '-b', 'main', bare]);
  git(dir, ['init', '-q', '-b', 'main', work]);
  const lines = [];
  for (let i = 0; i < 100_000; i++) {
    const cidr = `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
    const expires = i % 10 === 0 ? '2020-01-01T00:00:00Z' : '2099-01-01T00:00:00Z';
    lines.push(`  - {cidr: ${cidr}, expires: ${expires}, at: 2019-12-31T00:00:00Z, by: web${i % 7}, jail: sshd, count: 1}`);
  }
  execFileSync('mkdir', ['-p', join(work, 'bans')]);
  writeFileSync(join(work, 'bans/active.yaml'), HEADER + lines.join('\n') + '\n');
  git(work, ['add', '-A']);
  git(work, ['commit', '-q', '-m', 'seed 100,000 bans']);
  git(work, ['push', '-q', bare, 'main']);
  const before = git(bare, ['rev-parse', 'main']).trim();
  // Three trials, each on a fresh copy of the remote with a cold writer repository; the median is reported.
  const times = [];
  let newCommits = 0;
  let remaining = 0;
  for (let trial = 0; trial < 3; trial++) {
    const copy = join(dir, `gc-${trial}.git`);
    cpSync(bare, copy, { recursive: true });
    const r = timeCli(root, ['gc', '--remote', copy, '--host', 'bench', '--state-dir', join(dir, `gc-state-${trial}`)]);
    times.push(r.s);
    const after = git(copy, ['rev-parse', 'main']).trim();
    newCommits = Number(git(copy, ['rev-list', '--count', `${before}..${after}`]).trim());
    remaining = git(copy, ['show', 'main:bans/active.yaml']).split('\n').filter((l) => l.startsWith('  - ')).length;
  }
  const wall = median(times);
  return [
    { name: 'gc 10,000 expired of 100,000 (whole process, cold writer repo, median of 3)', value: wall, unit: 's', target: '≤ 3 s, one commit', ok: wall <= 3 && newCommits === 1 && remaining === 90_000 },
    { name: 'gc commits pushed', value: newCommits, unit: 'commits' },
    { name: 'entries left after gc', value: remaining, unit: 'entries' },
  ];
}

export async function run({ root, log }) {
  const dir = mkdtempSync(join(tmpdir(), 'f2g-bench-history-'));
  try {
    const rows = [...(await benchAudit(root, dir, log)), ...(await benchGc(root, dir))];
    return {
      section: 'History: audit and gc (issue 6)',
      rows,
      notes: [
        'audit baseline: one raw `git log` pass over the same history (subjects and bodies), the least any audit must read.',
        'audit reads trailers in one `git log` pass, diffs only the commits without trailers (hand edits), and greps the ledger only at commits naming the address.',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
