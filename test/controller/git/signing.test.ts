/**
 * Signed-commit rules against real git and real keys from `ssh-keygen -t ed25519`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';
import { judgeRange, parseSignatureLog, principalMatches, signingArgs, verifyCommits } from '../../../controller/git/signing.js';

interface Person { name: string; email: string; key: string }

let dir: string;
let repo: string;
let allowed: string;
let alice: Person;
let bob: Person;
let mallory: Person;

function keygen(name: string): string {
  const key = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key]);
  return key;
}

function allowedLine(p: Person): string {
  const [type, blob] = readFileSync(`${p.key}.pub`, 'utf8').trim().split(' ');
  return `${p.email} namespaces="git" ${type} ${blob}`;
}

function gitIn(args: string[], who: { name: string; email: string }): string {
  return execFileSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email },
  }).trim();
}

/** A commit as `who` claims to be, signed with `signer`'s key (or unsigned). */
function commit(who: Person, signer: Person | null, message: string): string {
  writeFileSync(join(repo, 'bans.txt'), `${message}\n`, { flag: 'a' });
  gitIn(['add', 'bans.txt'], who);
  gitIn([...signingArgs({ signingKey: signer?.key }), 'commit', '-q', '-m', message], who);
  return gitIn(['rev-parse', 'HEAD'], who);
}

beforeAll(() => {
  dir = tmpDir('f2g-sign');
  repo = join(dir, 'ledger');
  alice = { name: 'alice', email: 'alice@example.test', key: '' };
  bob = { name: 'bob', email: 'bob@example.test', key: '' };
  mallory = { name: 'mallory', email: 'mallory@example.test', key: '' };
  for (const p of [alice, bob, mallory]) p.key = keygen(p.name);
  allowed = join(dir, 'allowed_signers');
  writeFileSync(allowed, [allowedLine(alice), allowedLine(bob)].join('\n') + '\n');
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
});

afterAll(() => cleanupTmp());

describe('signingArgs', () => {
  it('is empty without a key, and makes git sign with SSH when a key is named', () => {
    expect(signingArgs({})).toEqual([]);
    const args = signingArgs({ signingKey: '/etc/fail2git/id_ed25519' });
    expect(args).toContain('gpg.format=ssh');
    expect(args).toContain('commit.gpgsign=true');
    expect(args).toContain('user.signingkey=/etc/fail2git/id_ed25519');
  });
});

describe('verifyCommits', () => {
  it('accepts a tip signed by an allowed key', async () => {
    const tip = commit(alice, alice, 'signed by alice');
    const r = await verifyCommits(repo, undefined, tip, allowed);
    expect(r.ok).toBe(true);
    expect(r.signer).toMatch(/^alice@example\.test \(SHA256:/);
  });

  it('holds an unsigned tip', async () => {
    const good = commit(alice, alice, 'good');
    const tip = commit(alice, null, 'unsigned');
    const r = await verifyCommits(repo, good, tip, allowed);
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_UNSIGNED', signer: 'unsigned' });
    expect(r.reason).toContain(tip.slice(0, 12));
  });

  it('holds a tip signed by a key not in allowedSigners', async () => {
    const tip = commit(mallory, mallory, 'mallory signs herself');
    const r = await verifyCommits(repo, undefined, tip, allowed);
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_UNKNOWN_KEY' });
    expect(r.signer).toMatch(/^unknown key SHA256:/);
  });

  it('holds a forged author name signed with another valid key', async () => {
    // bob's key is allowed, but the commit claims to be alice's.
    const tip = commit(alice, bob, 'bob pretending to be alice');
    const r = await verifyCommits(repo, undefined, tip, allowed);
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_IDENTITY' });
    expect(r.reason).toContain('signed by bob@example.test');
    expect(r.reason).toContain('alice <alice@example.test>');
  });

  it('holds a signed tip when an earlier commit since the last good one is unsigned', async () => {
    const lastGood = commit(alice, alice, 'last good');
    const sneaky = commit(mallory, null, 'unsigned, pushed straight to main');
    const tip = commit(bob, bob, 'a hook host signs on top without reviewing');
    const r = await verifyCommits(repo, lastGood, tip, allowed);
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_UNSIGNED' });
    expect(r.reason).toContain(sneaky.slice(0, 12));
    expect(r.signer).toMatch(/^bob@example\.test/);
    expect(r.commits.map((c) => c.sha)).toEqual([tip, sneaky]);
  });

  it('accepts several new commits when every one is signed by its committer', async () => {
    const lastGood = commit(alice, alice, 'base');
    commit(bob, bob, 'bob bans');
    const tip = commit(alice, alice, 'alice bans');
    const r = await verifyCommits(repo, lastGood, tip, allowed);
    expect(r.ok).toBe(true);
    expect(r.commits).toHaveLength(2);
    expect(r.reason).toContain('all 2 new commits');
  });

  it('accepts a signed merge of an unsigned pull-request branch (the reviewer vouches)', async () => {
    const lastGood = commit(alice, alice, 'before the PR');
    gitIn(['checkout', '-q', '-b', 'pr'], mallory);
    commit(mallory, null, 'PR: unsigned contribution');
    gitIn(['checkout', '-q', 'main'], alice);
    gitIn([...signingArgs({ signingKey: alice.key }), 'merge', '-q', '--no-ff', '-m', 'merge PR', 'pr'], alice);
    const tip = gitIn(['rev-parse', 'HEAD'], alice);
    const r = await verifyCommits(repo, lastGood, tip, allowed);
    expect(r.ok).toBe(true);
    expect(r.commits).toHaveLength(1);
  });

  it('holds a tip that does not descend from the last good commit (rollback)', async () => {
    const old = commit(alice, alice, 'old state');
    const lastGood = commit(alice, alice, 'newer state');
    const r = await verifyCommits(repo, lastGood, old, allowed);
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_NOT_DESCENDANT' });
  });

  it('holds everything when the allowedSigners file is missing', async () => {
    const tip = commit(alice, alice, 'fine commit');
    const r = await verifyCommits(repo, undefined, tip, join(dir, 'nope'));
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_NO_SIGNERS' });
  });

  it('treats a revoked key (removed from allowedSigners) as unknown', async () => {
    const tip = commit(bob, bob, 'bob before revocation');
    const onlyAlice = join(dir, 'allowed_alice');
    writeFileSync(onlyAlice, allowedLine(alice) + '\n');
    const r = await verifyCommits(repo, undefined, tip, onlyAlice);
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_UNKNOWN_KEY' });
  });
});

describe('pure rules', () => {
  it('matches allowed_signers principal patterns against the committer e-mail', () => {
    expect(principalMatches('alice@example.test', 'Alice@Example.test')).toBe(true);
    expect(principalMatches('*@hosts.example.test', 'web1@hosts.example.test')).toBe(true);
    expect(principalMatches('*@hosts.example.test,!evil@hosts.example.test', 'evil@hosts.example.test')).toBe(false);
    expect(principalMatches('bob@example.test', 'alice@example.test')).toBe(false);
    expect(principalMatches('a.b@x', 'aXb@x')).toBe(false);
  });

  it('parses git log records and reports the oldest offender', () => {
    const log = ['c3', 'G', 'SHA256:k', 'a@x', 'a', 'a@x'].join('\x1f') + '\x1e\n' + ['c2', 'N', '', '', 'm', 'm@x'].join('\x1f') + '\x1e\n' + ['c1', 'U', 'SHA256:z', '', 'm', 'm@x'].join('\x1f') + '\x1e';
    const commits = parseSignatureLog(log);
    expect(commits.map((c) => c.sha)).toEqual(['c3', 'c2', 'c1']);
    const r = judgeRange(commits);
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_UNKNOWN_KEY', signer: 'a@x (SHA256:k)' });
  });
});
