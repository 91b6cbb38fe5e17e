/**
 * `fail2git doctor`: hardening checks for one host, one line each (ok / fail / skip).
 * What is checkable and how:
 * - secrets: the config, the signing key, pve-api token files and serve's key files and TLS key
 *   are not readable by everyone;
 *   allowedSigners (trust) is not writable by others.
 * - remote: `git ls-remote` of the branch, with a timeout, never prompting.
 * - wake: with `wake:`, the site mirror answers its tip at once (one HTTP request), key private.
 * - push access, where this host needs it (it publishes its fleet status record, or its
 *   fail2ban hook writes bans): `git push --dry-run` of a probe ref, which the server
 *   authorizes like a real push without writing anything; for a remote on a local path, the
 *   repository's refs and objects must be writable.
 * - signing: the key signs a probe with `ssh-keygen -Y sign`, and allowedSigners lists it for
 *   the identity this host's writers commit as (`fail2git@HOST`), else its own bans are held.
 * - signer roles: with requireSignedCommits, adminSigners names who may change allow, policy
 *   and targets (warn without it: every allowed key may); the last run's held tip, if any,
 *   with the commit, file and signer that held it (from status.json).
 * - targets: for each target selected for this host, its programs are on PATH (or its paths
 *   exist); pve-api answers over TLS with the configured pin and accepts the token.
 * - flusher: on a fail2ban host (a spool exists), whether the resident flusher runs (watch.lock).
 * - clock: expiry depends on it. Measured against the Date header of the Proxmox API and of an
 *   http(s) remote (±60 s); otherwise `timedatectl`'s NTPSynchronized; else "cannot tell" (skip).
 */
import { accessSync, constants as fsConstants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ledgerClonePath, spoolPath, type HostConfig } from '../config/host-config.js';
import { loadHostConfig } from '../config/load.js';
import { errorMessage, redact } from '../lib/errors.js';
import { LEDGER_FILES } from '../ledger/types.js';
import { trackingRef } from '../git/clone.js';
import { principalMatches, sshVerifyTime } from '../git/signing.js';
import { readLedgerTextsAt } from '../git/read-at.js';
import { fail, judgeClockSamples, judgeMode, ok, skip, warn, type Check, type ClockSample } from './checks.js';
import { readStatus } from '../status/run-status.js';
import { lockHolder, watchLockPath } from '../lib/lock.js';
import { fileMode } from './probes.js';
import { checkTarget, selectTargets, type TargetCheckDeps } from './targets.js';
import { hostSinks } from '../targets/host-sinks.js';
import type { Runner } from '../lib/exec.js';

export { formatCheck, type Check, type CheckStatus } from './checks.js';

export interface DoctorDeps extends TargetCheckDeps {
  run: Runner;
  /** an http(s) URL's Date header (undefined when none) */
  httpDate: (url: string) => Promise<Date | undefined>;
  ntpSynchronized: () => Promise<boolean | undefined>;
}

export interface DoctorOptions {
  configPath: string;
  /** read targets from this directory's bans/ instead of the host's clone */
  ledgerDir?: string;
}

async function checkSigning(cfg: HostConfig, run: Runner): Promise<Check[]> {
  if (!cfg.signingKey) {
    return cfg.requireSignedCommits
      ? [fail('signing-key', 'requireSignedCommits is on but no signingKey: this host\'s own bans would be held')]
      : [skip('signing-key', 'no signingKey configured: commits from this host are unsigned')];
  }
  const checks = [judgeMode('signing-key-mode', cfg.signingKey, 'private', fileMode(cfg.signingKey))];
  const dir = mkdtempSync(join(tmpdir(), 'f2g-doctor-'));
  try {
    const sig = (await run('ssh-keygen', ['-Y', 'sign', '-f', cfg.signingKey, '-n', 'git'], { input: 'fail2git doctor\n', timeoutMs: 10_000 })).stdout;
    if (!cfg.allowedSigners) return [...checks, ok('signing-key', `${cfg.signingKey} signs (no allowedSigners to check it against)`)];
    writeFileSync(join(dir, 'probe.sig'), sig);
    const who = `fail2git@${cfg.host}`;
    // Key validity (valid-after/valid-before) as the reconcilers judge it: now.
    const findIn = (file: string) => run('ssh-keygen', ['-Y', 'find-principals', '-s', join(dir, 'probe.sig'), '-f', file, `-Overify-time=${sshVerifyTime(new Date())}`], { timeoutMs: 10_000 })
      .then((r) => r.stdout.trim().split('\n').filter((p) => p !== ''), () => [] as string[]);
    const principals = await findIn(cfg.allowedSigners);
    if (!principals.some((p) => principalMatches(p, who))) {
      return [...checks, fail('signing-key', `${cfg.signingKey} signs, but ${cfg.allowedSigners} does not list it for ${who} (or it is not valid now): commits from this host would be held`)];
    }
    // A host's key is a writer: listed in adminSigners it could change the allowlist, policy and targets.
    const admin = cfg.adminSigners ? await findIn(cfg.adminSigners) : [];
    if (admin.length > 0) {
      return [...checks, fail('signing-key', `${cfg.signingKey} is listed in adminSigners ${cfg.adminSigners} (as ${admin.join(', ')}): a host key must only be a writer (allowedSigners), or a compromised host may change allow, policy and targets`)];
    }
    return [...checks, ok('signing-key', `${cfg.signingKey} signs and is allowed as ${who}`)];
  } catch (err) {
    return [...checks, fail('signing-key', `${cfg.signingKey} cannot sign: ${errorMessage(err)}`)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkAllowedSigners(cfg: HostConfig): Check[] {
  if (!cfg.allowedSigners) return [skip('allowed-signers', 'requireSignedCommits is off: any commit on the remote is enforced')];
  return [checkSignersFile('allowed-signers', cfg.allowedSigners)];
}

/** A trust file (allowed_signers format): not writable by others, and every entry a key. */
function checkSignersFile(name: string, path: string): Check {
  const mode = judgeMode(name, path, 'trust', fileMode(path));
  if (mode.status === 'fail') return mode;
  const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const bad = lines.findIndex((l) => !/(^|\s)(ssh-|ecdsa-|sk-)\S+\s+[A-Za-z0-9+/=]{20,}/.test(l));
  if (lines.length === 0) return fail(name, `${path} lists no keys: every commit would be held`);
  if (bad >= 0) return fail(name, `${path}: entry ${bad + 1} is not "principals [options] keytype base64-key"`);
  return ok(name, `${path}: ${lines.length} key(s), mode ${mode.detail.split('mode ')[1]}`);
}

/** Who may change allow/policy/targets: adminSigners, or (without it) every allowed key. */
function checkAdminSigners(cfg: HostConfig): Check {
  if (!cfg.requireSignedCommits) {
    return cfg.adminSigners
      ? warn('admin-signers', `adminSigners ${cfg.adminSigners} has no effect: requireSignedCommits is off`)
      : skip('admin-signers', 'requireSignedCommits is off: signer roles do not apply');
  }
  if (!cfg.adminSigners) {
    return warn('admin-signers', `no adminSigners: every key in ${cfg.allowedSigners} may change allow.yaml, policy.yaml and targets.yaml; list the people who may in an adminSigners file (docs/signing.md)`);
  }
  const c = checkSignersFile('admin-signers', cfg.adminSigners);
  return c.status === 'ok' ? ok('admin-signers', `${c.detail}; keys in ${cfg.allowedSigners} may only change bans/active.yaml`) : c;
}

/** The last run's verdict on the remote tip (status.json): a held tip names commit, rule, file and signer. */
function checkLedgerTip(cfg: HostConfig): Check {
  const s = readStatus(cfg.stateDir);
  if (!s) return skip('ledger-tip', `no run recorded in ${cfg.stateDir} yet`);
  const tip = s.commit?.tip?.slice(0, 12) ?? 'none';
  const problem = s.commit?.tipProblems?.[0];
  if (problem) return fail('ledger-tip', `tip ${tip} is not enforced (last good ${s.commit?.applied?.slice(0, 12) ?? 'none'} is): ${problem}`);
  return ok('ledger-tip', `tip ${tip} is the enforced commit`);
}

/** `serve`: its key files and TLS private key are owner-only (whoever reads one may pull the ban list or the page). */
function checkServeSecrets(cfg: HostConfig): Check[] {
  const s = cfg.serve;
  if (!s) return [];
  const files = [...s.bouncerKeys, ...s.pageKeys, ...(s.mirror?.keys ?? [])].flatMap((k) => (k.keyFile ? [k.keyFile] : []));
  if (s.mirror?.webhookSecretFile) files.push(s.mirror.webhookSecretFile);
  if (s.tls) files.push(s.tls.key);
  return files.map((f) => judgeMode('serve-key-mode', f, 'private', fileMode(f)));
}

/**
 * `wake:`: the mirror answers a long-poll at once with this host's branch (one request, no
 * git), and the key file is private. A mirror that does not answer is a warning: the host
 * then polls the remote as without one.
 */
async function checkWake(cfg: HostConfig): Promise<Check[]> {
  if (!cfg.wake) return [];
  const w = cfg.wake;
  const checks: Check[] = w.keyFile ? [judgeMode('wake-key-mode', w.keyFile, 'private', fileMode(w.keyFile))] : [];
  try {
    const { askTip, loadWakeAuth } = await import('../loop/wake.js');
    const a = await askTip(w.url, undefined, 0, loadWakeAuth(w));
    if (a.branch !== cfg.branch) checks.push(fail('wake', `the mirror ${w.url} serves branch ${a.branch}, this host follows ${cfg.branch}`));
    else if (a.stale) checks.push(warn('wake', `the mirror ${w.url} answers, but has not reached the remote for a while (stale): hosts poll the remote instead`));
    else checks.push(ok('wake', `the mirror ${w.url} answers, ${a.branch} at ${a.tip.slice(0, 12)}`));
  } catch (err) {
    checks.push(warn('wake', `${errorMessage(err)}; reconcile --watch polls the remote until it answers`));
  }
  return checks;
}

async function checkRemote(cfg: HostConfig, run: Runner): Promise<Check> {
  const where = redact(cfg.remote);
  try {
    const { stdout } = await run('git', ['ls-remote', '--', cfg.remote, `refs/heads/${cfg.branch}`], {
      timeoutMs: 15_000,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes -o ConnectTimeout=10' },
    });
    const tip = stdout.trim().split(/\s/)[0];
    return tip ? ok('remote', `${where} reachable, ${cfg.branch} at ${tip.slice(0, 12)}`) : fail('remote', `${where} reachable, but has no branch ${cfg.branch}`);
  } catch (err) {
    return fail('remote', `${where} unreachable: ${errorMessage(err)}`);
  }
}

const GIT_NO_PROMPT = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' };

/** A remote on this machine: a path or file:// URL (git's own checks do not cover permissions there). */
function localRemotePath(remote: string): string | undefined {
  if (remote.startsWith('file://')) return decodeURIComponent(new URL(remote).pathname);
  if (remote.startsWith('/') || remote.startsWith('.')) return remote;
  return undefined;
}

/**
 * Whether this host can push, where it must: a reconciler publishes its fleet status record
 * (refs/fail2git/status/HOST) unless `publishStatus: false`, and a fail2ban host's flusher
 * pushes bans. A host that does neither needs read access only (skip).
 */
async function checkPushAccess(cfg: HostConfig, run: Runner): Promise<Check> {
  const writes = existsSync(spoolPath(cfg)) || existsSync(join(cfg.stateDir, 'writer.git'));
  const why = [cfg.publishStatus ? 'this host publishes its fleet status record' : '', writes ? 'its fail2ban hook pushes bans' : ''].filter(Boolean).join(' and ');
  if (!why) return skip('push-access', 'not needed: publishStatus is false and no fail2ban hook writes from this host (read access is enough)');
  const where = redact(cfg.remote);
  const local = localRemotePath(cfg.remote);
  if (local) {
    try {
      for (const sub of ['refs', 'objects']) accessSync(join(local, existsSync(join(local, '.git')) ? '.git' : '', sub), fsConstants.W_OK);
    } catch {
      return fail('push-access', `${where}: not writable by this user; needed: ${why}; grant write access, or set publishStatus: false on a read-only enforcing host`);
    }
  }
  const probe = mkdtempSync(join(tmpdir(), 'f2g-doctor-push-'));
  try {
    await run('git', ['init', '-q', '--bare', probe], { timeoutMs: 15_000 });
    const tree = (await run('git', ['-C', probe, 'mktree'], { input: '', timeoutMs: 15_000 })).stdout.trim();
    const env = { ...process.env, ...GIT_NO_PROMPT, GIT_AUTHOR_NAME: 'fail2git doctor', GIT_AUTHOR_EMAIL: `fail2git@${cfg.host}`, GIT_COMMITTER_NAME: 'fail2git doctor', GIT_COMMITTER_EMAIL: `fail2git@${cfg.host}`,
      GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes -o ConnectTimeout=10' };
    const commit = (await run('git', ['-C', probe, 'commit-tree', tree, '-m', 'fail2git doctor push probe'], { env, timeoutMs: 15_000 })).stdout.trim();
    await run('git', ['-C', probe, 'push', '--dry-run', '-q', '--', cfg.remote, `${commit}:refs/fail2git/doctor/${cfg.host}`], { env, timeoutMs: 20_000 });
    return ok('push-access', `${where} accepts a push from this host (dry run); needed: ${why}`);
  } catch (err) {
    return fail('push-access', `${where} refuses a push from this host (${errorMessage(err)}); needed: ${why}; grant write access, or set publishStatus: false on a read-only enforcing host`);
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** The remote, then push access (skipped when the remote cannot be reached at all). */
async function remoteChecks(cfg: HostConfig, run: Runner): Promise<Check[]> {
  const remote = await checkRemote(cfg, run);
  if (remote.status === 'fail') return [remote, skip('push-access', 'the remote is not reachable (see remote)')];
  return [remote, await checkPushAccess(cfg, run)];
}

async function targetsText(cfg: HostConfig, opts: DoctorOptions, run: Runner): Promise<string | undefined> {
  if (opts.ledgerDir) return readFileSync(join(opts.ledgerDir, LEDGER_FILES.targets), 'utf8');
  const clone = ledgerClonePath(cfg);
  if (!existsSync(join(clone, '.git'))) return undefined;
  const texts = await readLedgerTextsAt(clone, trackingRef(cfg.branch), run).catch(() => readLedgerTextsAt(clone, 'HEAD', run));
  return texts.targets ?? '';
}

/**
 * On a fail2ban host (one with a spool): whether the resident flusher runs. Without one the
 * action line's records wait for the next ban (which starts one), `fail2git flush`, a
 * reconcile tick or a timer.
 */
function checkFlusher(cfg: HostConfig): Check {
  const spool = spoolPath(cfg);
  if (!existsSync(spool)) return skip('flusher', `no spool at ${spool}: not a fail2ban host`);
  const pid = lockHolder(watchLockPath(cfg.stateDir));
  if (pid !== null) return ok('flusher', `resident flusher running (pid ${pid}, ${watchLockPath(cfg.stateDir)})`);
  return warn('flusher', 'resident flusher (fail2git flush --watch) not running: bans wait in the spool until the next ban starts one, `fail2git flush`, a reconcile tick or a timer; install deploy/systemd/fail2git-flush.service');
}

async function checkClock(cfg: HostConfig, deps: DoctorDeps, dates: ClockSample[]): Promise<Check> {
  if (/^https?:\/\//.test(cfg.remote)) {
    const u = new URL(cfg.remote);
    u.username = '';
    u.password = '';
    const date = await deps.httpDate(u.toString()).catch(() => undefined);
    if (date) dates.push({ source: `remote ${u.host}`, date, at: deps.now() });
  }
  const measured = judgeClockSamples(dates);
  if (measured) return measured;
  const synced = await deps.ntpSynchronized();
  if (synced === true) return ok('clock', 'timedatectl: NTP synchronized');
  if (synced === false) return fail('clock', 'timedatectl: NTP not synchronized; expiries depend on the clock');
  return skip('clock', 'cannot tell: no HTTP Date to compare with (ssh/git remote, no pve-api) and no timedatectl');
}

/** Runs every check; never throws for a finding (each becomes a `fail` line). */
export async function runDoctor(opts: DoctorOptions, deps: DoctorDeps): Promise<Check[]> {
  let cfg: HostConfig;
  try {
    cfg = await loadHostConfig(opts.configPath);
  } catch (err) {
    return [fail('config', errorMessage(err))];
  }
  const checks: Check[] = [ok('config', `${cfg.path} valid (host ${cfg.host}, remote ${redact(cfg.remote)})`)];
  checks.push(judgeMode('config-mode', cfg.path, 'secret', fileMode(cfg.path)));
  checks.push(...checkAllowedSigners(cfg), checkAdminSigners(cfg), ...(await checkSigning(cfg, deps.run)), ...checkServeSecrets(cfg), ...(await remoteChecks(cfg, deps.run)), ...(await checkWake(cfg)), checkLedgerTip(cfg));
  const dates: ClockSample[] = [];
  let text: string | undefined;
  try {
    text = await targetsText(cfg, opts, deps.run);
  } catch (err) {
    checks.push(fail('targets', `cannot read targets: ${errorMessage(err)}`));
  }
  if (text === undefined) {
    if (!checks.some((c) => c.name === 'targets')) checks.push(skip('targets', `no ledger clone at ${ledgerClonePath(cfg)} yet (run fail2git reconcile --once, or pass --ledger DIR)`));
  } else {
    const { selected, problems } = selectTargets(text, cfg.host);
    const first = problems[0];
    if (first) checks.push(fail('targets', `${first.file}:${first.line}:${first.col}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}; run fail2git validate`));
    checks.push(selected.length > 0 ? ok('targets', `${selected.length} for host ${cfg.host}: ${selected.map((t) => `${t.name} (${t.driver})`).join(', ')}`) : skip('targets', `no target selects host ${cfg.host}`));
    const tdeps = { ...deps, sinks: hostSinks(cfg) };
    for (const t of selected) checks.push(...(await checkTarget(t, tdeps, dates)));
  }
  checks.push(checkFlusher(cfg));
  checks.push(await checkClock(cfg, deps, dates));
  return checks;
}
