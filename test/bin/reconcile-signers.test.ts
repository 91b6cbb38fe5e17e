/**
 * Two roles of signer, end to end: `fail2git reconcile` with requireSignedCommits against a
 * real git remote whose commits are signed with real `ssh-keygen` keys. A writer key (a host,
 * in allowedSigners) may only change bans/active.yaml as operations would; an admin key (in
 * adminSigners) may change everything; a commit outside its signer's role is held and the
 * last good commit stays enforced. `status` and `doctor` say which commit, file and signer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { git } from '../helpers/git.js';
import { runCli } from '../helpers/cli.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { allowList, banList, ledgerFiles, policy } from '../helpers/fixtures.js';
import { signingArgs } from '../../controller/git/signing.js';

afterAll(() => cleanupTmp());

interface Signer { name: string; email: string; key: string }

function keygen(dir: string, name: string, email: string): Signer {
  const key = join(dir, `${name}.key`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key]);
  return { name, email, key };
}

const line = (s: Signer) => `${s.email} namespaces="git" ${readFileSync(`${s.key}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ')}`;

/** A ledger remote, a writer (host web1) and an admin (a person), and a host config using them. */
function setup(opts: { admins?: boolean; policySpec?: Record<string, unknown> } = {}) {
  const dir = tmpDir('f2g-roles');
  const stateDir = join(dir, 'state');
  const lists = join(stateDir, 'lists');
  mkdirSync(lists, { recursive: true });
  const listPath = join(lists, 'alias.txt');
  const writer = keygen(dir, 'web1', 'fail2git@web1');
  const admin = keygen(dir, 'alice', 'alice@example.test');
  const allowed = join(dir, 'allowed_signers');
  writeFileSync(allowed, line(writer) + '\n');
  const admins = join(dir, 'admin_signers');
  writeFileSync(admins, line(admin) + '\n');
  const bare = join(dir, 'ledger.git');
  const work = join(dir, 'work');
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
  git(dir, 'init', '-q', '-b', 'main', work);
  git(work, 'remote', 'add', 'origin', bare);
  const env = (who: Signer) => ({ ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email });
  const as = (who: Signer, ...args: string[]) => execFileSync('git', [...signingArgs({ signingKey: who.key }), ...args], { cwd: work, env: env(who), encoding: 'utf8' }).trim();
  /** `who` commits `files` on main and pushes; returns the commit. */
  const commit = (who: Signer, files: Record<string, string>, message: string): string => {
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(work, rel)), { recursive: true });
      writeFileSync(join(work, rel), text);
    }
    as(who, 'add', '-A');
    as(who, 'commit', '-q', '--allow-empty', '-m', message);
    as(who, 'push', '-q', 'origin', 'main');
    return as(who, 'rev-parse', 'HEAD');
  };
  const seed = commit(admin, ledgerFiles({
    bans: [{ cidr: '192.0.2.7' }],
    targets: [{ name: 'alias', hosts: ['web*'], options: { path: listPath, format: 'txt' } }],
    ...(opts.policySpec && { policy: opts.policySpec }),
  }), 'seed ledger (admin)');
  const config = join(dir, 'config.yaml');
  writeFileSync(config, [`remote: ${bare}`, 'host: web1', `stateDir: ${stateDir}`, 'requireSignedCommits: true', `allowedSigners: ${allowed}`, ...(opts.admins === false ? [] : [`adminSigners: ${admins}`]), ''].join('\n'));
  chmodSync(config, 0o600);
  const entries = () => (existsSync(listPath) ? readFileSync(listPath, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')) : []);
  const reconcile = () => runCli(['reconcile', '--once', '--config', config]);
  return { dir, work, writer, admin, seed, config, stateDir, entries, reconcile, commit, as };
}

const soon = (h: number) => new Date(Date.now() + h * 3_600_000);

describe('signer roles (adminSigners set)', () => {
  it('a writer-signed ban is enforced; a writer-signed allow.yaml change is held, naming commit, file and signer; an admin-signed merge accepts it', () => {
    const s = setup();
    expect(s.reconcile().code).toBe(0);
    expect(s.entries()).toEqual(['192.0.2.7']);

    s.commit(s.writer, { 'bans/active.yaml': banList([{ cidr: '192.0.2.7' }, { cidr: '203.0.113.9', expires: soon(1) }]) }, 'ban 203.0.113.9 (web1)');
    expect(s.reconcile().code).toBe(0);
    expect(s.entries()).toEqual(['192.0.2.7', '203.0.113.9']);
    const lastGood = s.as(s.writer, 'rev-parse', 'HEAD');

    // A compromised host lifts a ban by allowlisting it: held, the last good commit stays enforced.
    const bad = s.commit(s.writer, { 'bans/allow.yaml': allowList(['192.0.2.0/24']) }, 'allowlist (web1)');
    const r = s.reconcile();
    expect(r.code).toBe(1);
    expect(s.entries()).toEqual(['192.0.2.7', '203.0.113.9']);
    const held = `held (outside the signer's role): commit ${bad.slice(0, 12)} by web1 <fail2git@web1> (signed by fail2git@web1 (SHA256:`;
    expect(r.stdout).toContain(held);
    expect(r.stdout).toContain('changes bans/allow.yaml; a writer key may only change bans/active.yaml');
    const st = runCli(['status', '--config', s.config]);
    expect(st.stdout).toContain(held);
    const doc = runCli(['doctor', '--config', s.config]);
    expect(doc.stdout).toMatch(new RegExp(`fail +ledger-tip +.*${bad.slice(0, 12)}.*bans/allow\\.yaml`));

    // A writer's ban on top does not launder it.
    s.commit(s.writer, { 'bans/active.yaml': banList([{ cidr: '192.0.2.7' }, { cidr: '203.0.113.9', expires: soon(1) }, { cidr: '198.51.100.4', expires: soon(1) }]) }, 'ban on top (web1)');
    expect(s.reconcile().code).toBe(1);
    expect(s.entries()).toEqual(['192.0.2.7', '203.0.113.9']);

    // The reviewer (admin) merges the held history onto the last good commit with a signed merge.
    const tip = s.as(s.admin, 'rev-parse', 'HEAD');
    s.as(s.admin, 'checkout', '-q', '--detach', lastGood);
    s.as(s.admin, 'merge', '-q', '--no-ff', '-m', 'accept the allowlist (reviewed by alice)', tip);
    s.as(s.admin, 'push', '-q', 'origin', 'HEAD:main');
    const ok = s.reconcile();
    expect(ok.stderr).not.toContain('ledger.invalid');
    expect(ok.code).toBe(0);
    expect(s.entries()).toEqual(['198.51.100.4', '203.0.113.9']);
  });

  for (const file of ['bans/policy.yaml', 'bans/targets.yaml']) {
    it(`holds a writer-signed change of ${file}; the same change signed by an admin is enforced`, () => {
      const s = setup();
      expect(s.reconcile().code).toBe(0);
      const change = file === 'bans/policy.yaml' ? policy({ maxRemovePerRun: '100%' }) : 'apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: alias}\nspec: {driver: file, options: {path: /etc/passwd}}\n';
      const bad = s.commit(s.writer, { [file]: change }, `change ${file} (web1)`);
      const r = s.reconcile();
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`commit ${bad.slice(0, 12)}`);
      expect(r.stdout).toContain(`changes ${file}`);
      expect(JSON.parse(readFileSync(join(s.stateDir, 'status.json'), 'utf8')).commit.applied).toBe(s.seed);
    });
  }

  it('holds a writer-signed permanent ban when the policy has a maxTtl', () => {
    const s = setup({ policySpec: { escalation: { factor: 2, maxTtl: '7d' }, maxTtl: '7d' } });
    expect(s.reconcile().code).toBe(0);
    const bad = s.commit(s.writer, { 'bans/active.yaml': banList([{ cidr: '192.0.2.7' }, { cidr: '198.51.100.9' }]) }, 'permanent ban (web1)');
    const r = s.reconcile();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`commit ${bad.slice(0, 12)}`);
    expect(r.stdout).toContain("bans 198.51.100.9 permanently; the policy's maxTtl is 7d; a writer key may not");
    expect(s.entries()).toEqual(['192.0.2.7']);
  });

  it('an admin-signed allow.yaml change is enforced straight away', () => {
    const s = setup();
    expect(s.reconcile().code).toBe(0);
    const good = s.commit(s.admin, { 'bans/allow.yaml': allowList(['198.51.100.0/24']) }, 'allowlist (alice)');
    expect(s.reconcile().code).toBe(0);
    expect(JSON.parse(readFileSync(join(s.stateDir, 'status.json'), 'utf8')).commit.applied).toBe(good);
  });
});

describe('what real writers push stays within the writer role', () => {
  it('fail2git ban, a permanent fail2ban ban under an escalation policy, and unban: all enforced by a host with adminSigners', () => {
    const s = setup({ policySpec: { escalation: { factor: 2, maxTtl: '7d' } } });
    expect(s.reconcile().code).toBe(0);
    const writerCfg = join(s.dir, 'writer.yaml');
    writeFileSync(writerCfg, [`remote: ${join(s.dir, 'ledger.git')}`, 'host: web1', `stateDir: ${join(s.dir, 'writer-state')}`, `signingKey: ${s.writer.key}`, ''].join('\n'));
    chmodSync(writerCfg, 0o600);
    expect(runCli(['ban', '203.0.113.50', '--ttl', '2h', '--reason', 'manual', '--config', writerCfg]).code).toBe(0);
    const time = String(Math.floor(Date.now() / 1000));
    expect(runCli(['hook', 'ban', '--jail', 'sshd', '--ip', '203.0.113.51', '--bantime', '-1', '--time', time, '--config', writerCfg]).code).toBe(0);
    expect(runCli(['flush', '--config', writerCfg]).code).toBeLessThanOrEqual(1);
    expect(runCli(['unban', '192.0.2.7', '--config', writerCfg]).code).toBe(0);
    const r = s.reconcile();
    expect(r.stderr).not.toContain('ledger.invalid');
    expect(r.code).toBe(0);
    expect(s.entries()).toEqual(['203.0.113.50', '203.0.113.51']);
  });
});

describe('a host that enforces roles does not push what its own writer key may not write', () => {
  it('fail2git ban --permanent (or a TTL beyond the policy\'s maxTtl) is refused before it reaches the ledger; a ban within policy lands', () => {
    const s = setup({ policySpec: { escalation: { factor: 2, maxTtl: '7d' }, maxTtl: '7d' } });
    const before = s.as(s.admin, 'ls-remote', 'origin', 'main');
    const perm = runCli(['ban', '203.0.113.60', '--permanent', '--config', s.config]);
    expect(perm.code).toBe(1);
    expect(perm.stdout + perm.stderr).toContain('203.0.113.60 permanently');
    expect(perm.stdout + perm.stderr).toContain("which this host's writer key may not write");
    const long = runCli(['ban', '203.0.113.61', '--ttl', '30d', '--config', s.config]);
    expect(long.code).toBe(1);
    expect(long.stdout + long.stderr).toContain('longer than the policy\'s maxTtl (7d)');
    expect(s.as(s.admin, 'ls-remote', 'origin', 'main')).toBe(before);
    // web1's config names its signing key: a ban within policy is pushed and enforced.
    writeFileSync(s.config, readFileSync(s.config, 'utf8') + `signingKey: ${s.writer.key}\n`);
    expect(runCli(['ban', '203.0.113.62', '--ttl', '1d', '--config', s.config]).code).toBe(0);
    expect(s.reconcile().code).toBe(0);
    expect(s.entries()).toEqual(['192.0.2.7', '203.0.113.62']);
  });
});

describe('without adminSigners (the model before roles)', () => {
  it('every allowed key may change everything, and doctor warns about it', () => {
    const s = setup({ admins: false });
    // The seed was signed by alice, who is not in allowedSigners: let web1 sign a first commit on top.
    writeFileSync(join(s.dir, 'allowed_signers'), `${line(s.writer)}\n${line(s.admin)}\n`);
    expect(s.reconcile().code).toBe(0);
    const changed = s.commit(s.writer, { 'bans/allow.yaml': allowList(['198.51.100.0/24']) }, 'allowlist (web1)');
    expect(s.reconcile().code).toBe(0);
    expect(JSON.parse(readFileSync(join(s.stateDir, 'status.json'), 'utf8')).commit.applied).toBe(changed);
    const doc = runCli(['doctor', '--config', s.config]);
    expect(doc.stdout).toMatch(/warn +admin-signers +no adminSigners: every key in .*allowed_signers may change allow\.yaml, policy\.yaml and targets\.yaml/);
  });
});
