/**
 * Signed-commit rules against real git and real keys from `ssh-keygen -t ed25519`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';
import { parseCommitObject, principalMatches, signatureKind, signingArgs, sshVerifyTime, verifyCommits } from '../../../controller/git/signing.js';

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

function allowedLine(p: Person, options = ''): string {
  const [type, blob] = readFileSync(`${p.key}.pub`, 'utf8').trim().split(' ');
  return `${p.email} namespaces="git"${options} ${type} ${blob}`;
}

function gitIn(args: string[], who: { name: string; email: string }, env: Record<string, string> = {}): string {
  return execFileSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email, ...env },
  }).trim();
}

/** A commit as `who` claims to be, signed with `signer`'s key (or unsigned); `date` sets the committer date. */
function commit(who: Person, signer: Person | null, message: string, date?: string): string {
  writeFileSync(join(repo, 'bans.txt'), `${message}\n`, { flag: 'a' });
  gitIn(['add', 'bans.txt'], who);
  gitIn([...signingArgs({ signingKey: signer?.key }), 'commit', '-q', '-m', message], who, date ? { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date } : {});
  return gitIn(['rev-parse', 'HEAD'], who);
}

/** What git itself says of a commit's signature (%G?) with `allowedSignersFile`: the verdict we must not rely on. */
function gitVerdict(sha: string, allowedSignersFile: string, env: Record<string, string> = {}): string {
  return gitIn(['-c', `gpg.ssh.allowedSignersFile=${allowedSignersFile}`, 'log', '-1', '--format=%G?', sha], alice, env);
}

/** Writes a commit object by hand (git hash-object), e.g. with a forged signature header; returns its id. */
function writeObject(raw: string): string {
  return execFileSync('git', ['hash-object', '-t', 'commit', '-w', '--stdin'], { cwd: repo, input: raw, encoding: 'utf8' }).trim();
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
    expect(r.commits.map((c) => c.sha)).toEqual([sneaky]); // checked oldest first, up to the offender
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

describe('verifyCommits: signatures are judged by our rules, not git\'s', () => {
  it('holds an OpenPGP-signed commit whose key the GnuPG keyring trusts and whose UID is the committer (wrong signature type)', async () => {
    const gnupg = join(dir, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    const env = { GNUPGHOME: gnupg };
    execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', mallory.email, 'ed25519', 'sign', 'never'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const lastGood = commit(alice, alice, 'before the gpg commit');
    writeFileSync(join(repo, 'bans.txt'), 'gpg\n', { flag: 'a' });
    gitIn(['add', 'bans.txt'], mallory, env);
    gitIn(['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${mallory.email}`, 'commit', '-q', '-S', '-m', 'gpg-signed'], mallory, env);
    const tip = gitIn(['rev-parse', 'HEAD'], mallory);
    // git itself calls it good: the key is ultimately trusted in this keyring.
    expect(gitVerdict(tip, allowed, env)).toBe('G');
    const saved = process.env.GNUPGHOME;
    process.env.GNUPGHOME = gnupg; // the service user's keyring, as the verifier would inherit it
    try {
      const r = await verifyCommits(repo, lastGood, tip, allowed);
      expect(r).toMatchObject({ ok: false, code: 'E_SIG_TYPE' });
      expect(r.reason).toContain('held (wrong signature type)');
      expect(r.reason).toContain('OpenPGP');
    } finally {
      if (saved === undefined) delete process.env.GNUPGHOME;
      else process.env.GNUPGHOME = saved;
    }
  });

  it('holds an X.509 (CMS) signature header whatever it contains', async () => {
    const base = commit(alice, alice, 'base for x509');
    const raw = execFileSync('git', ['cat-file', 'commit', base], { cwd: repo, encoding: 'utf8' });
    const forged = raw.replace(/^gpgsig [\s\S]*?-----END SSH SIGNATURE-----\n/m, 'gpgsig -----BEGIN SIGNED MESSAGE-----\n MIIB\n -----END SIGNED MESSAGE-----\n');
    expect(forged).not.toBe(raw);
    const r = await verifyCommits(repo, undefined, writeObject(forged), allowed);
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_TYPE' });
    expect(r.reason).toContain('X.509');
  });

  it('holds an SSH signature copied onto another commit (bad signature)', async () => {
    const base = commit(alice, alice, 'signed original');
    const raw = execFileSync('git', ['cat-file', 'commit', base], { cwd: repo, encoding: 'utf8' });
    const r = await verifyCommits(repo, undefined, writeObject(raw.replace('signed original', 'tampered message')), allowed);
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_BAD' });
  });

  it('judges valid-before at the time of verification, not at a committer date set back before it (expired key)', async () => {
    const expiring = join(dir, 'allowed_expired');
    writeFileSync(expiring, allowedLine(alice, ',valid-before="20250101"') + '\n');
    const tip = commit(alice, alice, 'dated back before the key expired', '2024-06-01T12:00:00Z');
    // git checks validity at the committer date the signer chose, and accepts it.
    expect(gitVerdict(tip, expiring)).toBe('G');
    const r = await verifyCommits(repo, undefined, tip, expiring, { now: new Date('2026-12-03T00:00:00Z') });
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_EXPIRED' });
    expect(r.reason).toContain('held (expired key)');
    expect(r.reason).toContain('key has expired');
    // Before the key's valid-before, the same commit is good: the rule is the time of verification.
    expect((await verifyCommits(repo, undefined, tip, expiring, { now: new Date('2024-12-31T00:00:00Z') })).ok).toBe(true);
  });

  it('holds a key whose valid-after is still ahead (not yet valid, an expired-key verdict)', async () => {
    const future = join(dir, 'allowed_future');
    writeFileSync(future, allowedLine(alice, ',valid-after="20300101"') + '\n');
    const tip = commit(alice, alice, 'key not valid yet', '2031-01-02T00:00:00Z');
    const r = await verifyCommits(repo, undefined, tip, future, { now: new Date('2026-12-03T00:00:00Z') });
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_EXPIRED' });
    expect(r.reason).toContain('not yet valid');
  });

  it('holds a commit whose committer date is earlier than the last good commit\'s', async () => {
    const lastGood = commit(alice, alice, 'last good, today', '2026-06-01T00:00:00Z');
    const tip = commit(bob, bob, 'dated back a year', '2025-06-01T00:00:00Z');
    const r = await verifyCommits(repo, lastGood, tip, allowed);
    expect(r).toMatchObject({ ok: false, code: 'E_SIG_DATE' });
    expect(r.reason).toContain('2025-06-01T00:00:00Z');
    expect(r.reason).toContain(tip.slice(0, 12));
    const later = commit(bob, bob, 'dated forward', '2026-06-02T00:00:00Z');
    expect((await verifyCommits(repo, lastGood, later, allowed)).code).toBe('E_SIG_DATE');
  });

  it('compares the committer e-mail with the principal without regard to case, as before', async () => {
    const shouting = { ...alice, email: 'Alice@Example.TEST' };
    const tip = commit(shouting, alice, 'alice with capitals');
    expect(await verifyCommits(repo, undefined, tip, allowed)).toMatchObject({ ok: true });
  });

  it('names the principal when an allowed key signs for someone else (wrong principal)', async () => {
    const tip = commit(alice, bob, 'bob as alice again');
    const r = await verifyCommits(repo, undefined, tip, allowed);
    expect(r.reason).toContain('held (wrong principal)');
  });

  it('an unknown key says so (unknown key), not "expired"', async () => {
    const tip = commit(mallory, mallory, 'mallory again');
    const r = await verifyCommits(repo, undefined, tip, allowed);
    expect(r.reason).toContain('held (unknown key)');
    expect(r.reason).toContain('allowedSigners');
  });
});

describe('verifyCommits with adminSigners: signer roles on a real ledger', () => {
  it('judges a writer commit by the ledger it changes, block-style YAML too; an admin may change anything', async () => {
    const admins = join(dir, 'admin_signers');
    writeFileSync(admins, allowedLine(alice) + '\n');
    const writers = join(dir, 'writer_signers');
    writeFileSync(writers, allowedLine(bob) + '\n');
    const signers = { allowedSigners: writers, adminSigners: admins };
    const ledger = join(dir, 'roles-ledger');
    execFileSync('git', ['init', '-q', '-b', 'main', ledger]);
    mkdirSync(join(ledger, 'bans'));
    const put = (who: Person, files: Record<string, string>, message: string): string => {
      for (const [rel, text] of Object.entries(files)) writeFileSync(join(ledger, rel), text);
      const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email };
      execFileSync('git', ['add', '-A'], { cwd: ledger, env });
      execFileSync('git', [...signingArgs({ signingKey: who.key }), 'commit', '-q', '--allow-empty', '-m', message], { cwd: ledger, env });
      return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ledger, encoding: 'utf8' }).trim();
    };
    const soon = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const block = (cidrs: string[]) => `apiVersion: fail2git/v1\nkind: BanList\nbans:\n${cidrs.map((c) => `  - cidr: ${c}\n    expires: ${soon}\n`).join('')}`;
    const root = put(alice, { 'bans/active.yaml': block(['192.0.2.1']), 'bans/policy.yaml': 'apiVersion: fail2git/v1\nkind: Policy\nspec: {}\n' }, 'admin creates the ledger');
    expect(await verifyCommits(ledger, undefined, root, signers)).toMatchObject({ ok: true });
    const ok = put(bob, { 'bans/active.yaml': block(['192.0.2.1', '198.51.100.7']) }, 'writer bans, block style');
    const good = await verifyCommits(ledger, root, ok, signers);
    expect(good).toMatchObject({ ok: true });
    expect(good.commits[0]).toMatchObject({ role: 'writer' });
    const broad = put(bob, { 'bans/active.yaml': block(['192.0.2.1', '198.51.100.7', '10.0.0.0/7']) }, 'writer bans a /7');
    const held = await verifyCommits(ledger, ok, broad, signers);
    expect(held).toMatchObject({ ok: false, code: 'E_SIG_ROLE', file: 'bans/active.yaml' });
    expect(held.reason).toContain("held (outside the signer's role)");
    expect(held.reason).toContain('broader than the policy');
    const policy = put(bob, { 'bans/policy.yaml': 'apiVersion: fail2git/v1\nkind: Policy\nspec: {broadestPrefix: {ipv4: 4, ipv6: 16}}\n' }, 'writer loosens the policy');
    expect(await verifyCommits(ledger, broad, policy, signers)).toMatchObject({ ok: false, code: 'E_SIG_ROLE', file: 'bans/policy.yaml' });
    // The same kinds of change signed by the admin are fine; without adminSigners bob may do it all.
    const adminPolicy = put(alice, { 'bans/policy.yaml': 'apiVersion: fail2git/v1\nkind: Policy\nspec: {broadestPrefix: {ipv4: 6, ipv6: 16}}\n' }, 'admin loosens the policy');
    expect(await verifyCommits(ledger, policy, adminPolicy, signers)).toMatchObject({ ok: true });
    // A fresh host (no last good commit) checks the tip, and that an admin vouched for the rest of the tree.
    const sneaky = put(bob, { 'bans/targets.yaml': 'apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: t}\nspec: {driver: file}\n' }, 'writer adds a target');
    const onTop = put(bob, { 'bans/active.yaml': block(['192.0.2.1', '198.51.100.7', '198.51.100.8']) }, 'writer bans on top');
    const fresh = await verifyCommits(ledger, undefined, onTop, signers);
    expect(fresh).toMatchObject({ ok: false, code: 'E_SIG_ROLE', file: 'bans/targets.yaml' });
    expect(fresh.reason).toContain(`commit ${sneaky.slice(0, 12)}`);
    expect(fresh.reason).toContain('changes bans/targets.yaml, and no admin has signed it or a commit after it');
    put(alice, {}, 'vouch');
    const vouched = put(bob, { 'bans/active.yaml': block(['192.0.2.1', '198.51.100.7', '198.51.100.9']) }, 'writer bans after the vouch');
    expect(await verifyCommits(ledger, undefined, vouched, signers)).toMatchObject({ ok: true });
    const both = join(dir, 'both_signers');
    writeFileSync(both, `${allowedLine(alice)}\n${allowedLine(bob)}\n`);
    expect(await verifyCommits(ledger, ok, policy, both)).toMatchObject({ ok: true });
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

  it('tells the signature kinds apart by their armor', () => {
    expect(signatureKind('-----BEGIN SSH SIGNATURE-----\nU1NI\n-----END SSH SIGNATURE-----\n')).toBe('ssh');
    expect(signatureKind('-----BEGIN PGP SIGNATURE-----\n\niQ\n-----END PGP SIGNATURE-----\n')).toBe('openpgp');
    expect(signatureKind('-----BEGIN SIGNED MESSAGE-----\nMII\n-----END SIGNED MESSAGE-----\n')).toBe('x509');
    expect(signatureKind('hello')).toBe('unknown');
  });

  it('cuts every gpgsig header out of the payload, keeps the one for the hash as the signature', () => {
    const raw = 'tree t1\nparent p1\nauthor a <a@x> 1 +0000\ncommitter c <c@x> 1700000000 +0100\ngpgsig -----BEGIN SSH SIGNATURE-----\n U1NI\n -----END SSH SIGNATURE-----\ngpgsig-sha256 -----BEGIN PGP SIGNATURE-----\n iQ\n -----END PGP SIGNATURE-----\n\nmessage\n gpgsig in the body stays\n';
    const o = parseCommitObject('a'.repeat(40), raw);
    expect(o).toMatchObject({ tree: 't1', parents: ['p1'], committer: 'c', committerEmail: 'c@x', committerTime: 1700000000 });
    expect(o.signature).toBe('-----BEGIN SSH SIGNATURE-----\nU1NI\n-----END SSH SIGNATURE-----\n');
    expect(o.payload).toBe('tree t1\nparent p1\nauthor a <a@x> 1 +0000\ncommitter c <c@x> 1700000000 +0100\n\nmessage\n gpgsig in the body stays\n');
    expect(parseCommitObject('b'.repeat(64), raw).signature).toContain('PGP');
  });

  it('writes ssh-keygen verify times in UTC to the second', () => {
    expect(sshVerifyTime(new Date('2026-12-03T08:30:05.123Z'))).toBe('20261203083005Z');
  });
});
