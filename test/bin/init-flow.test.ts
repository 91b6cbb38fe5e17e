/**
 * End to end through the real CLI and real git: `init` a ledger, enable a `file` target by
 * pull-request-style commit, `validate`, `ban`, `reconcile`; then the same with a host that
 * requires signed commits (real `ssh-keygen` keys): what is applied and what is held.
 * Run `npm run build` first (the test executes dist/bin/fail2git.js).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

import { signingArgs } from '../../controller/git/signing.js';
import { runCli, CLI } from '../helpers/cli.js';

const f2g = (args: string[], cwd?: string) => runCli(args, cwd, { USER: 'tester' });

interface Person { name: string; email: string; key?: string }

function gitAs(who: Person, cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email },
  }).trim();
}

/** A person edits the ledger and pushes straight to main, signing with `signer`'s key (or not). */
function pushChange(work: string, who: Person, signer: Person | null, edit: (dir: string) => void, message: string): string {
  gitAs(who, work, 'pull', '-q', '--ff-only', 'origin', 'main');
  edit(work);
  gitAs(who, work, 'add', '-A');
  gitAs(who, work, ...signingArgs({ signingKey: signer?.key }), 'commit', '-q', '-m', message);
  gitAs(who, work, 'push', '-q', 'origin', 'HEAD:main');
  return gitAs(who, work, 'rev-parse', 'HEAD');
}

const banLine = (cidr: string, by: string) => `  - {cidr: ${cidr}, at: 2026-11-25T08:00:00Z, by: ${by}}\n`;

/** Appends a ban (a new ledger starts with `bans: []`, which becomes a block list). */
function addBan(cidr: string, by: string) {
  return (dir: string) => {
    const file = join(dir, 'bans/active.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^bans: \[\]$/m, 'bans:'));
    appendFileSync(file, banLine(cidr, by));
  };
}

interface Setup {
  root: string;
  bare: string;
  work: string;
  list: string;
}

function keygen(dir: string, name: string): string {
  const key = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key]);
  return key;
}

function hostConfig(s: Setup, name: string, extra: Record<string, unknown> = {}): string {
  const path = join(s.root, `${name}.yaml`);
  // The host lets its file target write the served list (writablePaths; the ledger only names it).
  const settings = { remote: s.bare, host: 'web1', stateDir: join(s.root, `state-${name}`), writablePaths: { file: [s.list] }, ...extra };
  writeFileSync(path, Object.entries(settings).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n');
  chmodSync(path, 0o600);
  return path;
}

const admin: Person = { name: 'admin', email: 'admin@example.test' };

/** init → push to a bare remote → enable a file target for web1 (as a reviewed change would). */
function initLedger(): Setup {
  const root = tmpDir('f2g-flow');
  const bare = join(root, 'ledger.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  const work = join(root, 'ledger');
  const init = f2g(['init', work, '--remote', bare, '--allow', '192.0.2.0/24=management']);
  expect(init.code, init.stderr).toBe(0);
  const list = join(root, 'www', 'fail2git.txt');
  mkdirSync(join(root, 'www'));
  pushChange(work, admin, null, (dir) => appendFileSync(join(dir, 'bans/targets.yaml'),
    `---\napiVersion: fail2git/v1\nkind: Target\nmetadata: {name: alias}\nspec:\n  driver: file\n  hosts: ["web*"]\n  options: {path: ${JSON.stringify(list)}, format: txt}\n`), 'enforce on web*: a plain list');
  return { root, bare, work, list };
}

const listed = (s: Setup): string[] => (existsSync(s.list) ? readFileSync(s.list, 'utf8').trim().split('\n').filter((l) => l !== '') : []);

afterAll(() => cleanupTmp());

describe('init → validate → ban → reconcile', () => {
  it('enforces a ban made with the CLI on a file target', () => {
    const s = initLedger();
    const v = f2g(['validate'], s.work);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('1 targets');
    const cfg = hostConfig(s, 'plain');
    const ban = f2g(['ban', '198.51.100.7', '--ttl', '1h', '--reason', 'e2e', '--config', cfg]);
    expect(ban.code, ban.stderr).toBe(0);
    const refused = f2g(['ban', '192.0.2.10', '--ttl', '1h', '--config', cfg]);
    expect(refused.code).toBe(1);
    const rec = f2g(['reconcile', '--once', '--config', cfg]);
    expect(rec.code, rec.stdout + rec.stderr).toBe(0);
    expect(listed(s)).toEqual(['198.51.100.7']);
    // doctor now reads the targets from the reconciler's clone (no --ledger).
    const doc = f2g(['doctor', '--config', cfg]);
    expect(doc.stdout).toMatch(/^ok\s+targets\s+1 for host web1: alias \(file\)$/m);
    expect(doc.stdout).toMatch(/^ok\s+remote\s+.*main at [0-9a-f]{12}$/m);
    // The clock line depends on this machine's NTP (timedatectl); everything else must pass.
    expect(doc.stdout.split('\n').filter((l) => l.startsWith('fail') && !/^fail\s+clock\s/.test(l))).toEqual([]);
  });
});

describe('a host that requires signed commits', () => {
  let s: Setup;
  let cfg: string;
  let alice: Person;
  let bob: Person;
  let mallory: Person;
  const reconcile = () => f2g(['reconcile', '--once', '--config', cfg]);
  const status = () => JSON.parse(readFileSync(join(s.root, 'state-signed', 'status.json'), 'utf8')) as { commit: { applied: string; tip: string; tipProblems?: string[] } };

  beforeAll(() => {
    s = initLedger();
    const keys = tmpDir('f2g-flow-keys');
    const hostKey = keygen(keys, 'web1');
    alice = { name: 'alice', email: 'alice@example.test', key: keygen(keys, 'alice') };
    bob = { name: 'bob', email: 'bob@example.test', key: keygen(keys, 'bob') };
    mallory = { name: 'mallory', email: 'mallory@example.test', key: keygen(keys, 'mallory') };
    const allowed = join(keys, 'allowed_signers');
    const line = (principal: string, key: string) => `${principal} namespaces="git" ${readFileSync(`${key}.pub`, 'utf8').trim()}`;
    writeFileSync(allowed, [line('fail2git@web1', hostKey), line(alice.email, alice.key!), line(bob.email, bob.key!)].join('\n') + '\n');
    cfg = hostConfig(s, 'signed', { signingKey: hostKey, requireSignedCommits: true, allowedSigners: allowed });
  });

  it('applies a tip signed by an allowed key (the host\'s own signed ban)', () => {
    expect(f2g(['ban', '198.51.100.1', '--ttl', '1h', '--config', cfg]).code).toBe(0);
    const r = reconcile();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(listed(s)).toEqual(['198.51.100.1']);
  });

  it('applies a person\'s commit signed with their own allowed key', () => {
    pushChange(s.work, alice, alice, addBan('198.51.100.2', 'alice'), 'alice bans .2');
    expect(reconcile().code).toBe(0);
    expect(listed(s)).toEqual(['198.51.100.1', '198.51.100.2']);
  });

  it('holds an unsigned commit and keeps the last good one enforced', () => {
    const good = status().commit.applied;
    const bad = pushChange(s.work, mallory, null, addBan('198.51.100.3', 'mallory'), 'unsigned');
    const r = reconcile();
    expect(r.code).toBe(1);
    expect(listed(s)).toEqual(['198.51.100.1', '198.51.100.2']);
    expect(status().commit.applied).toBe(good);
    expect(status().commit.tipProblems?.join(' ')).toContain(`commit ${bad.slice(0, 12)} by mallory <mallory@example.test> is not signed`);
  });

  it('keeps holding when a host signs a new ban on top of the unsigned commit', () => {
    expect(f2g(['ban', '198.51.100.4', '--ttl', '1h', '--config', cfg]).code).toBe(0);
    expect(reconcile().code).toBe(1);
    expect(listed(s)).toEqual(['198.51.100.1', '198.51.100.2']);
    expect(status().commit.tipProblems?.join(' ')).toMatch(/is not signed \(tip signed by: fail2git@web1 \(SHA256:/);
  });

  it('accepts the held commits once a reviewer merges them with a signed merge onto the last good commit', () => {
    const good = status().commit.applied;
    gitAs(alice, s.work, 'fetch', '-q', 'origin');
    gitAs(alice, s.work, 'checkout', '-q', '-b', 'accept', good);
    gitAs(alice, s.work, ...signingArgs({ signingKey: alice.key }), 'merge', '-q', '--no-ff', '-m', 'accept reviewed changes', 'origin/main');
    gitAs(alice, s.work, 'push', '-q', 'origin', 'accept:main');
    gitAs(alice, s.work, 'checkout', '-q', 'main');
    gitAs(alice, s.work, 'reset', '-q', '--hard', 'origin/main');
    expect(reconcile().code).toBe(0);
    expect(listed(s)).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4']);
  });

  it('holds a commit signed by a key not in allowedSigners', () => {
    pushChange(s.work, mallory, mallory, addBan('198.51.100.5', 'mallory'), 'mallory signs herself');
    expect(reconcile().code).toBe(1);
    expect(listed(s)).not.toContain('198.51.100.5');
    expect(status().commit.tipProblems?.join(' ')).toContain('a key not in allowedSigners');
  });

  it('holds a forged author name signed with another valid key', () => {
    // Reset the remote to the last good commit first, as a reviewer would after the previous case.
    const good = status().commit.applied;
    gitAs(admin, s.work, 'fetch', '-q', 'origin');
    gitAs(admin, s.work, 'reset', '-q', '--hard', good);
    gitAs(admin, s.work, 'push', '-q', '--force', 'origin', 'HEAD:main');
    pushChange(s.work, alice, bob, addBan('198.51.100.6', 'alice'), 'claims alice, signed by bob');
    expect(reconcile().code).toBe(1);
    expect(listed(s)).not.toContain('198.51.100.6');
    expect(status().commit.tipProblems?.join(' ')).toContain('is signed by bob@example.test');
  });
});
