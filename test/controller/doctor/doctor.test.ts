/**
 * `fail2git doctor` against real parts: a real git remote, real SSH keys, a real HTTPS
 * Proxmox emulator with a self-signed certificate. A healthy host has no failing check;
 * each planted problem makes exactly its check fail.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';
import { makeLedgerRemote, REPO_ROOT, startGitDaemon } from '../../helpers/git.js';
import { dirname } from 'node:path';
import { PveEmulator } from '../../helpers/pve-emulator.js';
import { runDoctor, type Check, type DoctorDeps } from '../../../controller/doctor/doctor.js';
import { judgeClockSamples, judgeMode } from '../../../controller/doctor/checks.js';
import { findProgram, ntpSynchronized, probePveApi } from '../../../controller/doctor/probes.js';
import { execRunner } from '../../../controller/lib/exec.js';

const TOKEN_ID = 'fail2git@pve!doctor';
let emu: PveEmulator;
let remote: string;

interface Host {
  dir: string;
  config: string;
  ledger: string;
  key: string;
  allowed: string;
  token: string;
  settings: Record<string, unknown>;
  /** the host's pveCredentials.default (the ledger's pve-api target names it) */
  cred: Record<string, string>;
  /** the pve-api target's options in the ledger */
  pveOptions: Record<string, string>;
}

let host: Host;

function writeConfig(h: Host): void {
  const yaml = Object.entries({ ...h.settings, pveCredentials: { default: h.cred } }).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n';
  writeFileSync(h.config, yaml);
  chmodSync(h.config, 0o600);
}

function writeTargets(h: Host): void {
  const pve = Object.entries(h.pveOptions).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n');
  writeFileSync(join(h.ledger, 'bans', 'targets.yaml'), `apiVersion: fail2git/v1
kind: Target
metadata: {name: alias}
spec: {driver: file, hosts: ["web*"], options: {path: ${JSON.stringify(join(h.dir, 'www', 'list.txt'))}}}
---
apiVersion: fail2git/v1
kind: Target
metadata: {name: gateway}
spec: {driver: nftables, hosts: ["web1"]}
---
apiVersion: fail2git/v1
kind: Target
metadata: {name: elsewhere}
spec: {driver: route, hosts: ["mail*"]}
---
apiVersion: fail2git/v1
kind: Target
metadata: {name: api}
spec:
  driver: pve-api
  options:
${pve}
`);
}

/** A healthy host: private config and key, trusted key, reachable remote, pinned API. */
function healthyHost(): Host {
  const dir = tmpDir('f2g-doctor');
  const key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'web1', '-f', key]);
  const allowed = join(dir, 'allowed_signers');
  writeFileSync(allowed, `fail2git@web1 namespaces="git" ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`);
  chmodSync(allowed, 0o644);
  const token = join(dir, 'pve-token');
  writeFileSync(token, 's3cret\n', { mode: 0o600 });
  mkdirSync(join(dir, 'www'));
  const ledger = join(dir, 'ledger');
  mkdirSync(join(ledger, 'bans'), { recursive: true });
  const h: Host = {
    dir, key, allowed, token, ledger,
    config: join(dir, 'config.yaml'),
    settings: { remote, host: 'web1', stateDir: join(dir, 'state'), signingKey: key, requireSignedCommits: true, allowedSigners: allowed, writablePaths: { file: [`${join(dir, 'www')}/`] } },
    cred: { url: emu.url, tokenId: TOKEN_ID, tokenSecretFile: token, fingerprint: emu.fingerprint256 },
    pveOptions: { credential: 'default', ipset: 'fail2git' },
  };
  writeConfig(h);
  writeTargets(h);
  return h;
}

/** A PATH holding only the programs named (symlinks to the real ones). */
function pathWith(...programs: string[]): string {
  const bin = tmpDir('f2g-doctor-bin');
  for (const p of programs) symlinkSync(findProgram(p, `${process.env.PATH}:/usr/sbin:/sbin`)!, join(bin, p));
  return bin;
}

function deps(over: Partial<DoctorDeps> = {}): DoctorDeps {
  return {
    run: execRunner,
    now: () => new Date(),
    pathVar: pathWith('nft', 'ip', 'ipset', 'iptables', 'ip6tables'),
    probePve: probePveApi,
    httpDate: async () => undefined,
    ntpSynchronized: () => ntpSynchronized(execRunner),
    ...over,
  };
}

async function doctor(h: Host, over: Partial<DoctorDeps> = {}): Promise<Check[]> {
  return runDoctor({ configPath: h.config, ledgerDir: h.ledger }, deps(over));
}

const failing = (checks: Check[]) => checks.filter((c) => c.status === 'fail').map((c) => c.name);
const check = (checks: Check[], name: string) => checks.find((c) => c.name === name);

beforeAll(async () => {
  emu = await PveEmulator.start({ tokens: { [TOKEN_ID]: { secret: 's3cret', privs: ['Sys.Audit', 'Sys.Modify'] } }, authFailDelayMs: 10 });
  remote = makeLedgerRemote().bare;
});

afterAll(async () => {
  await emu.close();
  cleanupTmp();
});

beforeEach(() => {
  host = healthyHost();
});

describe('doctor on a healthy host', () => {
  it('fails nothing, checks the selected targets only, and measures the clock against the API', async () => {
    const checks = await doctor(host);
    expect(failing(checks)).toEqual([]);
    expect(check(checks, 'targets')?.detail).toContain('alias (file), gateway (nftables), api (pve-api)');
    expect(checks.some((c) => c.name.includes('elsewhere'))).toBe(false);
    expect(check(checks, 'signing-key')?.detail).toContain('allowed as fail2git@web1');
    expect(check(checks, 'target api')?.detail).toContain('TLS ok (pinned fingerprint), token accepted');
    expect(check(checks, 'clock')).toMatchObject({ status: 'ok' });
    expect(check(checks, 'clock')?.detail).toContain('Proxmox API 127.0.0.1');
  });
});

describe('doctor checks push access where this host needs it', () => {
  it('a reconciler publishing its status record: a writable remote is ok', async () => {
    const checks = await doctor(host);
    expect(check(checks, 'push-access')).toMatchObject({ status: 'ok' });
    expect(check(checks, 'push-access')?.detail).toMatch(/accepts a push from this host \(dry run\); needed: this host publishes its fleet status record/);
  });

  it('a read-only remote (git daemon without receive-pack): push-access fails, saying why and what to do', async () => {
    const daemon = await startGitDaemon(dirname(remote), { readOnly: true });
    try {
      host.settings.remote = daemon.url('ledger.git');
      writeConfig(host);
      const checks = await doctor(host);
      expect(check(checks, 'remote')).toMatchObject({ status: 'ok' });
      expect(failing(checks)).toEqual(['push-access']);
      expect(check(checks, 'push-access')?.detail).toMatch(/refuses a push from this host .*; needed: this host publishes its fleet status record; grant write access, or set publishStatus: false/);
      // publishStatus: false and no fail2ban hook here: read access is all it needs.
      host.settings.publishStatus = false;
      writeConfig(host);
      const readOnly = await doctor(host);
      expect(failing(readOnly)).toEqual([]);
      expect(check(readOnly, 'push-access')).toMatchObject({ status: 'skip' });
      // A fail2ban host (its spool exists) pushes bans: needed again.
      mkdirSync(join(host.settings.stateDir as string, 'spool'), { recursive: true });
      const f2b = await doctor(host);
      expect(failing(f2b)).toEqual(['push-access']);
      expect(check(f2b, 'push-access')?.detail).toMatch(/needed: its fail2ban hook pushes bans/);
    } finally {
      await daemon.stop();
    }
  });
});

describe('doctor finds each planted problem', () => {
  it('a world-readable config', async () => {
    chmodSync(host.config, 0o644);
    expect(failing(await doctor(host))).toEqual(['config-mode']);
  });

  it('a group-readable key file of fail2git serve', async () => {
    const keyFile = join(host.dir, 'bouncer.key');
    writeFileSync(keyFile, 'k-0123456789abcdef-0123\n', { mode: 0o640 });
    host.settings = { ...host.settings, serve: { bouncerKeys: [{ name: 'fw1', keyFile }] } };
    writeConfig(host);
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['serve-key-mode']);
    expect(check(checks, 'serve-key-mode')?.detail).toBe(`${keyFile} is readable by its group (mode 0640); chmod 600`);
    chmodSync(keyFile, 0o600);
    expect(failing(await doctor(host))).toEqual([]);
  });

  it('wake: says whether the site mirror answers (a warning when it does not: the host polls the remote instead)', async () => {
    host.settings = { ...host.settings, wake: { url: 'http://127.0.0.1:9' } };
    writeConfig(host);
    let checks = await doctor(host);
    expect(check(checks, 'wake')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^the mirror http:\/\/127\.0\.0\.1:9 did not answer: ECONNREFUSED; reconcile --watch polls the remote until it answers$/) });
    expect(failing(checks)).toEqual([]);
    const { startServe } = await import('../../../controller/serve/run.js');
    const { createMemoryLogger } = await import('../../../controller/lib/log.js');
    const { loadHostConfig } = await import('../../../controller/config/load.js');
    const mirrorCfg = { ...(await loadHostConfig(host.config)), stateDir: tmpDir('f2g-doctor-mirror') };
    const serve = await startServe(mirrorCfg, { listen: '127.0.0.1:0', bouncerKeys: [], pageKeys: [], maxConnections: 16, fleetRefresh: '1h', mirror: { interval: '200ms', keys: [] } }, { log: createMemoryLogger(), now: () => new Date() });
    try {
      host.settings = { ...host.settings, wake: { url: `http://${serve.address}` } };
      writeConfig(host);
      for (let i = 0; i < 50 && check(checks, 'wake')?.status !== 'ok'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        checks = await doctor(host);
      }
      expect(check(checks, 'wake')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/answers, main at [0-9a-f]{12}$/) });
    } finally {
      await serve.close();
    }
  });

  it('a world-readable Proxmox token file', async () => {
    chmodSync(host.token, 0o644);
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['target api token']);
    expect(check(checks, 'target api token')?.detail).toContain('readable by everyone');
  });

  it('a Proxmox token file its group can read (the driver refuses it too)', async () => {
    chmodSync(host.token, 0o640);
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['target api token']);
    expect(check(checks, 'target api token')?.detail).toContain('readable by its group');
  });

  it('an allowedSigners file others can write to', async () => {
    chmodSync(host.allowed, 0o666);
    expect(failing(await doctor(host))).toContain('allowed-signers');
  });

  it('an unreachable remote', async () => {
    host.settings.remote = join(host.dir, 'moved-away.git');
    writeConfig(host);
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['remote']);
    expect(check(checks, 'remote')?.detail).toContain('unreachable');
  });

  it('a signing key the allowedSigners file does not trust for this host', async () => {
    const other = join(host.dir, 'other');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    writeFileSync(host.allowed, `fail2git@web1 ${readFileSync(`${other}.pub`, 'utf8').trim()}\n`);
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['signing-key']);
    expect(check(checks, 'signing-key')?.detail).toContain('would be held');
  });

  it('a signing key that cannot sign (corrupt)', async () => {
    writeFileSync(host.key, 'not a key\n', { mode: 0o600 });
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['signing-key']);
    expect(check(checks, 'signing-key')?.detail).toContain('cannot sign');
  });

  it('signer roles: warns without adminSigners, checks the file when set, fails a world-writable one', async () => {
    expect(check(await doctor(host), 'admin-signers')).toMatchObject({ status: 'warn', detail: expect.stringContaining('no adminSigners: every key in') });
    const admins = join(host.dir, 'admin_signers');
    const alice = join(host.dir, 'alice');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', alice]);
    writeFileSync(admins, `alice@example.test namespaces="git" ${readFileSync(`${alice}.pub`, 'utf8').trim()}\n`);
    chmodSync(admins, 0o644);
    host.settings.adminSigners = admins;
    writeConfig(host);
    const checks = await doctor(host);
    expect(failing(checks)).toEqual([]);
    expect(check(checks, 'admin-signers')).toMatchObject({ status: 'ok', detail: expect.stringContaining('may only change bans/active.yaml') });
    chmodSync(admins, 0o666);
    expect(failing(await doctor(host))).toEqual(['admin-signers']);
  });

  it("fails when this host's own signing key is also an admin key, or no longer valid", async () => {
    const admins = join(host.dir, 'admin_signers');
    writeFileSync(admins, `fail2git@web1 namespaces="git" ${readFileSync(`${host.key}.pub`, 'utf8').trim()}\n`);
    chmodSync(admins, 0o644);
    host.settings.adminSigners = admins;
    writeConfig(host);
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['signing-key']);
    expect(check(checks, 'signing-key')?.detail).toContain('a host key must only be a writer');
    delete host.settings.adminSigners;
    writeConfig(host);
    writeFileSync(host.allowed, `fail2git@web1 namespaces="git",valid-before="20200101" ${readFileSync(`${host.key}.pub`, 'utf8').trim()}\n`);
    expect(failing(await doctor(host))).toEqual(['signing-key']);
  });

  it('the last run held the tip: ledger-tip says which commit and why', async () => {
    const stateDir = host.settings.stateDir as string;
    mkdirSync(stateDir, { recursive: true });
    expect(check(await doctor(host), 'ledger-tip')?.status).toBe('skip');
    const status = { version: 1, commit: { applied: 'a'.repeat(40), tip: 'b'.repeat(40), tipProblems: ["bbbbbbbbbbbb: held (outside the signer's role): commit bbbbbbbbbbbb by web1 <fail2git@web1> changes bans/allow.yaml"] } };
    writeFileSync(join(stateDir, 'status.json'), JSON.stringify(status));
    const c = check(await doctor(host), 'ledger-tip');
    expect(c?.status).toBe('fail');
    expect(c?.detail).toContain('tip bbbbbbbbbbbb is not enforced (last good aaaaaaaaaaaa is)');
    expect(c?.detail).toContain('changes bans/allow.yaml');
  });

  it('requireSignedCommits without a signing key', async () => {
    delete host.settings.signingKey;
    writeConfig(host);
    expect(failing(await doctor(host))).toEqual(['signing-key']);
  });

  it("a target's program that is not installed", async () => {
    const checks = await doctor(host, { pathVar: pathWith('ip', 'ipset') });
    expect(failing(checks)).toEqual(['target gateway']);
    expect(check(checks, 'target gateway')?.detail).toContain('missing nft');
  });

  it('a Proxmox API whose certificate does not match the pin', async () => {
    host.cred.fingerprint = emu.fingerprint256.replace(/^../, emu.fingerprint256.startsWith('00') ? '11' : '00');
    writeConfig(host);
    const checks = await doctor(host);
    expect(failing(checks)).toContain('target api');
    expect(check(checks, 'target api')?.detail).toContain('does not match the pinned');
  });

  it('a Proxmox API not trusted by the system CAs when nothing is pinned', async () => {
    delete host.cred.fingerprint;
    writeConfig(host);
    expect(failing(await doctor(host))).toContain('target api');
  });

  it('a Proxmox token the API rejects', async () => {
    writeFileSync(host.token, 'wrong\n', { mode: 0o600 });
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['target api']);
    expect(check(checks, 'target api')?.detail).toContain('token was rejected (401)');
  });

  it('a clock five minutes off the Proxmox API', async () => {
    // The host's clock is what doctor reads as "now"; shifting it plants the skew.
    const checks = await doctor(host, { now: () => new Date(Date.now() + 5 * 60_000) });
    expect(failing(checks)).toEqual(['clock']);
    expect(check(checks, 'clock')?.detail).toMatch(/^\+(29\d|30\d)s against Proxmox API/);
  });

  it('NTP not synchronized when there is no HTTP clock to compare with', async () => {
    const checks = await doctor(host, { probePve: async () => ({ status: 200, fingerprint: '' }), ntpSynchronized: async () => false });
    expect(check(checks, 'clock')).toMatchObject({ status: 'fail', detail: expect.stringContaining('NTP not synchronized') });
  });

  it('a file target writing outside writablePaths: its one line names the option and the host config key', async () => {
    delete host.settings.writablePaths;
    writeConfig(host);
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['target alias']);
    expect(check(checks, 'target alias')?.detail).toMatch(/^target "alias" \(file\): option path ".*www\/list\.txt" is not among the paths this host lets targets write .*writablePaths\.file in .*config\.yaml/);
  });

  it('a pve-api target naming a credential this host does not declare', async () => {
    host.pveOptions.credential = 'dc2';
    writeTargets(host);
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['target api']);
    expect(check(checks, 'target api')?.detail).toMatch(/option credential "dc2" names no entry of pveCredentials in .*config\.yaml \(declared: default\); add pveCredentials\.dc2/);
  });

  it('a pve-api target still carrying url and token in the ledger (before the move to host-owned credentials)', async () => {
    host.pveOptions = { url: emu.url, tokenId: TOKEN_ID, tokenSecretFile: host.token, ipset: 'fail2git' };
    writeTargets(host);
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['target api']);
    expect(check(checks, 'target api')?.detail).toMatch(/option url, tokenId, tokenSecretFile is no longer read from the ledger; declare it .* under pveCredentials\.NAME .*credential: NAME/);
  });

  it('a file target whose file holds content fail2git did not write', async () => {
    writeFileSync(join(host.dir, 'www', 'list.txt'), 'server { listen 80; }\n');
    const checks = await doctor(host);
    expect(failing(checks)).toEqual(['target alias']);
    expect(check(checks, 'target alias')?.detail).toMatch(/list\.txt holds content fail2git did not write \(line 1 is not a CIDR\)/);
  });

  it('a broken config is one failing line', async () => {
    writeFileSync(host.config, 'remote: [unclosed\n', { mode: 0o600 });
    const checks = await doctor(host);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ name: 'config', status: 'fail' });
    expect(checks[0]!.detail).toContain(host.config);
  });
});

describe('fail2git doctor (CLI)', () => {
  it('prints one line per check and exits 1 when one fails', async () => {
    chmodSync(host.config, 0o644);
    // Asynchronous: the Proxmox emulator lives in this process and must keep answering.
    const { stdout, status } = await new Promise<{ stdout: string; status: number | null }>((resolve) => {
      const child = execFile('node', [join(REPO_ROOT, 'dist/bin/fail2git.js'), 'doctor', '--config', host.config, '--ledger', host.ledger], (_err, out) => resolve({ stdout: out, status: child.exitCode }));
    });
    expect(status).toBe(1);
    const lines = stdout.trim().split('\n');
    expect(lines.every((l) => /^(ok|warn|fail|skip)\s+\S/.test(l))).toBe(true);
    expect(lines.find((l) => l.includes('config-mode'))).toMatch(/^fail/);
    expect(lines.find((l) => /^\w+\s+target api\s{2,}/.test(l))).toMatch(/^ok .*token accepted$/);
  });
});

describe('pure judgments', () => {
  it('file modes: private is owner-only, secret is not world-readable, trust is not writable by others', () => {
    const v = (kind: 'private' | 'secret' | 'trust', mode: number) => judgeMode('x', '/f', kind, { mode }).status;
    expect([v('private', 0o600), v('private', 0o640), v('private', 0o604)]).toEqual(['ok', 'fail', 'fail']);
    expect([v('secret', 0o640), v('secret', 0o644), v('secret', 0o660)]).toEqual(['ok', 'fail', 'fail']);
    expect([v('trust', 0o644), v('trust', 0o664), v('trust', 0o646)]).toEqual(['ok', 'fail', 'fail']);
    expect(judgeMode('x', '/f', 'trust', { error: 'ENOENT' })).toMatchObject({ status: 'fail', detail: '/f: cannot stat (ENOENT)' });
  });

  it('clock: the worst sample decides, 60 s either way is fine', () => {
    const at = new Date('2026-11-25T10:00:00Z');
    const sample = (source: string, offsetS: number) => ({ source, at, date: new Date(at.getTime() - offsetS * 1000) });
    expect(judgeClockSamples([])).toBeUndefined();
    expect(judgeClockSamples([sample('a', 60), sample('b', -59)])).toMatchObject({ status: 'ok', detail: '+60s against a' });
    expect(judgeClockSamples([sample('a', 1), sample('b', -61)])).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^-61s against b/) });
  });
});
