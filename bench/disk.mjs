// Disk of the ledger's repositories (issue 18): a 100,000-entry ledger, SAMPLE real bans
// (`fail2git ban`, whole process: the writer's fetch, commit and push), each followed by a
// host's sync (controller/git/clone.js syncClone, with fail2git's disk settings) and by a plain
// `git fetch` into a clone with git's defaults, for comparison. The remote is a bare repository
// with git's defaults (a forge's receive.unpackLimit is the forge's business).
// Per-ban growth is measured; the 1,000-ban figures are extrapolated from it, because a real
// ban on this ledger takes seconds here: git's defaults keep every small fetch or push loose
// until 6,700 loose objects (about 1,675 bans), so they grow linearly; fail2git's clone holds
// its packed history plus at most 20 fetched packs (gc.autoPackLimit), see docs/scale.md.
// Run alone: `npm run bench -- disk`.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from './lib/stats.mjs';

const ENTRIES = Number(process.env.F2G_BENCH_DISK_ENTRIES ?? 100_000);
const SAMPLE = Number(process.env.F2G_BENCH_DISK_SAMPLE ?? 10);
const BANS = 1_000;
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' };
const git = (cwd, ...args) => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();

/** Bytes under `dir` (files only). */
function du(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += du(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

function banLines(n) {
  const out = [];
  for (let i = 1; i <= n; i++) out.push(`  - {cidr: 11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, expires: 2099-01-01T00:00:00Z, at: 2026-11-25T00:00:00Z, by: web1, jail: sshd, count: 1}`);
  return out;
}

/** Objects of a `git gc`'d copy of `bare`: the history's packed size. */
function packedSize(dir, bare, name) {
  const copy = join(dir, name);
  cpSync(bare, copy, { recursive: true });
  git(copy, 'gc', '-q', '--prune=now');
  const size = du(join(copy, 'objects'));
  rmSync(copy, { recursive: true, force: true });
  return size;
}

export async function run({ root, log }) {
  const dir = mkdtempSync(join(tmpdir(), 'f2g-bench-disk-'));
  try {
    const { syncClone } = await import(pathToFileURL(join(root, 'dist/controller/git/clone.js')).href);
    const bare = join(dir, 'ledger.git');
    const work = join(dir, 'seed');
    git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
    git(dir, 'init', '-q', '-b', 'main', work);
    cpSync(join(root, 'bans'), join(work, 'bans'), { recursive: true });
    writeFileSync(join(work, 'bans/active.yaml'), ['apiVersion: fail2git/v1', 'kind: BanList', 'bans:', ...banLines(ENTRIES), ''].join('\n'));
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', 'seed');
    git(work, 'push', '-q', bare, 'main');
    const plain = join(dir, 'plain');
    git(dir, 'clone', '-q', '--no-checkout', bare, plain);
    const ours = join(dir, 'host', 'ledger');
    await syncClone(bare, ours, 'main');
    const stateDir = join(dir, 'writer');
    mkdirSync(stateDir);
    const config = join(dir, 'writer.yaml');
    writeFileSync(config, `remote: ${bare}\nbranch: main\nhost: bench\nstateDir: ${stateDir}\n`);
    const cli = join(root, 'dist/bin/fail2git.js');
    const ledgerBytes = statSync(join(work, 'bans/active.yaml')).size;
    const objects = (repoGitDir) => du(join(repoGitDir, 'objects'));
    // The first ban creates the writer's repository: not timed, not counted.
    execFileSync(process.execPath, [cli, 'ban', '203.0.113.1', '--ttl', '1h', '--by', 'bench', '--config', config], { stdio: 'ignore' });
    git(plain, 'fetch', '-q');
    await syncClone(bare, ours, 'main');
    const packed0 = packedSize(dir, bare, 'packed0.git');
    const before = { remote: objects(bare), plain: objects(join(plain, '.git')), ours: objects(join(ours, '.git')), writer: du(stateDir) };
    log(`disk: ${SAMPLE} bans on a ${ENTRIES}-entry ledger`);
    const times = [];
    for (let i = 0; i < SAMPLE; i++) {
      const t0 = performance.now();
      execFileSync(process.execPath, [cli, 'ban', `203.0.113.${i + 2}`, '--ttl', '1h', '--by', 'bench', '--config', config], { stdio: 'ignore' });
      times.push((performance.now() - t0) / 1000);
      git(plain, 'fetch', '-q');
      await syncClone(bare, ours, 'main');
    }
    const after = { remote: objects(bare), plain: objects(join(plain, '.git')), ours: objects(join(ours, '.git')), writer: du(stateDir) };
    const per = (k) => (after[k] - before[k]) / SAMPLE;
    // The packed size of the same history (what `git gc` makes of it), and per ban packed.
    const packed = packedSize(dir, bare, 'packed.git');
    const packedPerBan = (packed - packed0) / SAMPLE;
    const packed1000 = packed0 + BANS * packedPerBan;
    const oursPacks = Number(git(ours, 'count-objects', '-v').match(/^packs: (\d+)/m)[1]);
    const MB = 2 ** 20;
    const oursBound = packed1000 + 20 * per('ours');
    return {
      section: 'Disk: a 100,000-entry ledger under a ban stream (issue 18)',
      rows: [
        { name: `ledger file (${ENTRIES} entries)`, value: ledgerBytes / MB, unit: 'MiB' },
        { name: `history packed by git gc (seed + ${SAMPLE + 1} bans)`, value: packed / MB, unit: 'MiB' },
        { name: `history after ${BANS} bans, packed (extrapolated: ${(packedPerBan / 1024).toFixed(1)} KiB per ban)`, value: packed1000 / MB, unit: 'MiB' },
        { name: `time per ban commit (fail2git ban, whole process, median of ${SAMPLE})`, value: median(times), unit: 's' },
        { name: 'growth per ban: remote (bare, git defaults: each push stays loose)', value: per('remote') / 1024, unit: 'KiB' },
        { name: 'growth per ban: a clone with git defaults (loose)', value: per('plain') / 1024, unit: 'KiB' },
        { name: 'growth per ban: the host clone, fail2git (a pack per fetch)', value: per('ours') / 1024, unit: 'KiB' },
        { name: 'growth per ban: the writer repo, fail2git', value: per('writer') / 1024, unit: 'KiB' },
        { name: `host clone packs after ${SAMPLE + 1} fetches`, value: oursPacks, unit: 'packs' },
        { name: `remote after ${BANS} bans, git defaults (extrapolated: loose until gc.auto's 6,700 objects)`, value: (before.remote + BANS * per('remote')) / MB, unit: 'MiB' },
        { name: `a clone after ${BANS} bans, git defaults (extrapolated)`, value: (before.plain + BANS * per('plain')) / MB, unit: 'MiB' },
        { name: `host clone after ${BANS} bans, fail2git (bound: packed + 20 fetched packs)`, value: oursBound / MB, unit: 'MiB', baseline: (before.plain + BANS * per('plain')) / MB, ratio: oursBound / (before.plain + BANS * per('plain')) },
        { name: `host clone bound as a multiple of the packed history after ${BANS} bans`, value: oursBound / packed1000, unit: '×' },
      ],
      notes: [
        `${SAMPLE} bans measured, the ${BANS}-ban rows extrapolated from them (a real ban on this ledger takes seconds; ${BANS} would take the bench too long). The host clone's working tree (the checked-out ledger, ${(ledgerBytes / MB).toFixed(1)} MiB) is not counted in object sizes.`,
        'A remote we run ourselves (a bare repository on a site mirror) gets the same bound from `git config receive.unpackLimit 1` and `gc.autoPackLimit 20`; forges manage their own storage.',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
