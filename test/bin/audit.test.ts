import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeLedgerRemote, REPO_ROOT, type LedgerRemote } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { formatTime } from '../../controller/lib/duration.js';
import { cli, CLI } from '../helpers/cli.js';

afterAll(() => cleanupTmp());

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.code, `fail2git ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const epoch = () => String(Math.floor(Date.now() / 1000));

/** Waits until the remote branch moved past `from` (the hook's flusher runs in the background). */
async function waitForPush(remote: LedgerRemote, from: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const head = remote.head();
    if (head !== from) return head;
    if (Date.now() > deadline) throw new Error('no commit arrived on the remote');
    await sleep(100);
  }
}

function hostConfig(root: string, remote: string, host: string): string {
  const path = join(root, `${host}.yaml`);
  writeFileSync(path, `remote: ${remote}\nhost: ${host}\nstateDir: ${join(root, host)}\n`);
  return path;
}

const EMPTY = 'apiVersion: fail2git/v1\nkind: BanList\nbans: []\n';

describe('fail2git audit on a ledger built by the hook, the CLI, gc and a merged pull request', () => {
  let remote: LedgerRemote;
  let text: string;
  let json: { events: { action: string; cidr: string; relation: string; actor: string; via: string; commit: string }[] };
  const commits: Record<string, string> = {};

  beforeAll(async () => {
    const root = tmpDir('f2g-audit-cli');
    remote = makeLedgerRemote({
      'bans/active.yaml': EMPTY,
      'bans/allow.yaml': readFileSync(join(REPO_ROOT, 'bans/allow.yaml'), 'utf8'),
      'bans/policy.yaml': 'apiVersion: fail2git/v1\nkind: Policy\nspec:\n  defaultTtl: 1h\n',
    });
    const web1 = hostConfig(root, remote.bare, 'web1');
    const web2 = hostConfig(root, remote.bare, 'web2');
    const hook = async (cfg: string, action: string, bantime: string) => {
      const from = remote.head();
      await ok(['hook', action, '--jail', 'sshd', '--ip', '203.0.113.7', '--bantime', bantime, '--time', epoch(), '--config', cfg]);
      return waitForPush(remote, from);
    };

    commits.ban1 = await hook(web1, 'ban', '3600');
    commits.ban2 = await hook(web2, 'ban', '7200');
    await ok(['ban', '203.0.113.0/24', '--ttl', '2h', '--reason', 'botnet', '--by', 'alice', '--config', web2]);
    commits.net = remote.head();

    // A person's pull request shortens the ban; merged with a merge commit.
    const w = remote.work;
    git(w, 'pull', '-q', '--ff-only', 'origin', 'main');
    git(w, 'checkout', '-q', '-b', 'shorten');
    const soon = formatTime(new Date(Date.now() + 1500));
    const file = join(w, 'bans/active.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/(cidr: 203\.0\.113\.7, expires: )[^,]+/, `$1${soon}`));
    const who = { ...process.env, GIT_AUTHOR_NAME: 'Carol', GIT_AUTHOR_EMAIL: 'carol@example.invalid', GIT_COMMITTER_NAME: 'Carol', GIT_COMMITTER_EMAIL: 'carol@example.invalid' };
    execFileSync('git', ['commit', '-q', '-am', 'Shorten the ban of 203.0.113.7'], { cwd: w, env: who });
    commits.pr = git(w, 'rev-parse', 'HEAD');
    git(w, 'checkout', '-q', 'main');
    execFileSync('git', ['merge', '-q', '--no-ff', '-m', 'Merge pull request #12 from carol/shorten', 'shorten'], { cwd: w, env: who });
    git(w, 'push', '-q', 'origin', 'main');

    await sleep(2500);
    const gcOut = await ok(['gc', '--grace', '0s', '--remote', remote.bare, '--host', 'gc1', '--state-dir', join(root, 'gc1')]);
    expect(gcOut).toMatch(/^gc: expired 1 ban in /);
    commits.gc = remote.head();

    commits.ban3 = await hook(web1, 'ban', '3600');
    commits.unban = await hook(web1, 'unban', '3600');
    await ok(['unban', '203.0.113.0/24', '--by', 'bob', '--config', web1]);
    commits.unnet = remote.head();

    git(remote.work, 'pull', '-q', '--ff-only', 'origin', 'main');
    text = await ok(['audit', '203.0.113.7', '--ledger', remote.work]);
    json = JSON.parse(await ok(['audit', '203.0.113.7', '--json', '--ledger', remote.work]));
  }, 120_000);

  it('lists every event in order with the right actor and commit', () => {
    expect(json.events.map((e) => [e.action, e.cidr, e.actor, e.via, e.commit])).toEqual([
      ['banned', '203.0.113.7', 'web1', 'fail2ban', commits.ban1],
      ['extended', '203.0.113.7', 'web2', 'fail2ban', commits.ban2],
      ['banned', '203.0.113.0/24', 'alice', 'manual', commits.net],
      ['edited', '203.0.113.7', 'Carol <carol@example.invalid>', 'hand-edit', commits.pr],
      ['expired', '203.0.113.7', 'gc1', 'gc', commits.gc],
      ['banned', '203.0.113.7', 'web1', 'fail2ban', commits.ban3],
      ['unbanned', '203.0.113.7', 'web1', 'fail2ban', commits.unban],
      ['unbanned', '203.0.113.0/24', 'bob', 'manual', commits.unnet],
    ]);
  });

  it('prints one line per event: time, action, what, actor, details, commit', () => {
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  banned    203\\.0\\.113\\.7  by web1 \\(fail2ban sshd\\)  ttl 1h, until \\S+, count 1  ${commits.ban1!.slice(0, 12)}$`));
    expect(lines[2]).toContain('banned    203.0.113.0/24 (covers it)  by alice (manual)');
    expect(lines[3]).toMatch(/edited    203\.0\.113\.7  by Carol <carol@example\.invalid> \(hand edit\)  expires \S+ → \S+  \w{12}$/);
    expect(lines[4]).toContain('expired   203.0.113.7  by gc1 (gc)');
    expect(lines.at(-1)).toMatch(/^now: not in the ledger at \w{12}$/);
  });

  it('shows the covering ban for another address in the range, and says a never-banned address was never banned', async () => {
    const other = JSON.parse(await ok(['audit', '203.0.113.99', '--json', '--ledger', remote.work])) as typeof json;
    expect(other.events.map((e) => [e.action, e.cidr, e.relation])).toEqual([
      ['banned', '203.0.113.0/24', 'covered-by'],
      ['unbanned', '203.0.113.0/24', 'covered-by'],
    ]);
    const never = await ok(['audit', '198.51.100.99', '--ledger', remote.work]);
    expect(never).toMatch(/^198\.51\.100\.99 was never banned in \d+ commits since /);
  });

  it('refuses garbage with one line and a non-zero exit', async () => {
    const r = await cli(['audit', '203.0.113.300', '--ledger', remote.work]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^fail2git: audit: "203\.0\.113\.300" is not an IP address or CIDR$/);
    expect((await cli(['audit', '--ledger', remote.work])).code).toBe(2);
    const missing = await cli(['audit', '203.0.113.7', '--ledger', join(remote.work, 'nope')]);
    expect([missing.code, missing.stderr.trim()]).toEqual([1, `fail2git: audit: ${join(remote.work, 'nope')}: no such directory`]);
  });
});

describe('fail2git audit text output is not forged by what commits hold', () => {
  it('escapes control characters and terminal escapes in authors, names and reasons', async () => {
    const r = makeLedgerRemote({ 'bans/active.yaml': EMPTY });
    r.commit({
      'bans/active.yaml':
        'apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 198.51.100.7, at: 2026-11-20T00:00:00Z, by: "web\\u001b[31m1", reason: "ok\\n\\nnow: forged \\u202e"}\n',
    });
    execFileSync('git', ['commit', '-q', '--amend', '--no-edit', '--reset-author'], {
      cwd: r.work,
      env: { ...process.env, GIT_AUTHOR_NAME: 'evil\u001b[2J', GIT_AUTHOR_EMAIL: 'e@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' },
    });
    const out = await ok(['audit', '198.51.100.7', '--ledger', r.work]);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(out).toContain('by evil\\x1b[2J');
    expect(out).toContain('reason "ok\\n\\nnow: forged \\u202e"');
    expect(out).toContain('by web\\x1b[31m1');
    expect(out.split('\n').filter((l) => l.startsWith('now:'))).toHaveLength(1);
  });
});

describe('fail2git audit on a host without a reader clone (a fail2ban-only host)', () => {
  it('fetches the ledger it needs and says so; with the remote unreachable it reads the writer\'s repository and says so', async () => {
    const remote = makeLedgerRemote();
    const root = tmpDir('f2g-audit-nc');
    const config = hostConfig(root, remote.bare, 'f2bonly');
    const before = remote.head();
    const hook = await cli(['hook', 'ban', '--jail=sshd', '--ip=198.51.100.77', '--bantime=3600', `--time=${epoch()}`, `--config=${config}`]);
    expect(hook.code, hook.stderr).toBe(0);
    await waitForPush(remote, before);
    await sleep(500); // the flusher's lock goes after the push

    const fetched = await cli(['audit', '198.51.100.77', '--config', config], { cwd: root });
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stderr).toBe(`fail2git: audit: this host had no ledger clone; fetched ${remote.bare} into ${join(root, 'f2bonly', 'ledger')}\n`);
    expect(fetched.stdout).toMatch(/^\S+\s+banned\s+198\.51\.100\.77\b[^\n]*f2bonly/m);

    // A second host, same state but never able to reach the remote again: the writer's repository answers.
    execFileSync('rm', ['-rf', join(root, 'f2bonly', 'ledger')]);
    writeFileSync(config, `remote: ${join(root, 'gone.git')}\nhost: f2bonly\nstateDir: ${join(root, 'f2bonly')}\n`);
    const offline = await cli(['audit', '198.51.100.77', '--config', config], { cwd: root });
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stderr).toMatch(new RegExp(`^fail2git: audit: cannot fetch the ledger \\([^\\n]*\\); reading the writer's repository ${join(root, 'f2bonly', 'writer.git')} as of its last flush\\n$`));
    expect(offline.stdout).toMatch(/^\S+\s+banned\s+198\.51\.100\.77\b[^\n]*f2bonly/m);
  });

  it('with neither a clone, a writer repository nor a reachable remote: one line, exit 1', async () => {
    const root = tmpDir('f2g-audit-none');
    const config = hostConfig(root, join(root, 'gone.git'), 'lonely');
    const r = await cli(['audit', '203.0.113.78', '--config', config], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^fail2git: audit: no ledger on this host \(no clone at .*, no writer repository\) and the remote cannot be fetched: [^\n]*\n$/);
  });
});
