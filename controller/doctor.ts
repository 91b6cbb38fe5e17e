/**
 * `fail2git doctor`: hardening checks for one host, one line each (ok / fail / skip).
 * What is checkable and how:
 * - secrets: the config, the signing key and pve-api token files are not readable by everyone;
 *   allowedSigners (trust) is not writable by others.
 * - remote: `git ls-remote` of the branch, with a timeout, never prompting.
 * - signing: the key signs a probe with `ssh-keygen -Y sign`, and allowedSigners lists it for
 *   the identity this host's writers commit as (`fail2git@HOST`), else its own bans are held.
 * - targets: for each target selected for this host, its programs are on PATH (or its paths
 *   exist); pve-api answers over TLS with the configured pin and accepts the token.
 * - clock: expiry depends on it. Measured against the Date header of the Proxmox API and of an
 *   http(s) remote (±60 s); otherwise `timedatectl`'s NTPSynchronized; else "cannot tell" (skip).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadHostConfig, ledgerClonePath, type HostConfig } from './config.js';
import { errorMessage, redact } from './errors.js';
import { LEDGER_FILES } from './ledger/types.js';
import { hostMatches } from './reconcile.js';
import { trackingRef } from './git/clone.js';
import { principalMatches } from './git/signing.js';
import { readLedgerTextsAt } from './init/read-at.js';
import { fileMode, findProgram, type PveAnswer, type PveProbe } from './doctor-probes.js';
import type { Runner } from './targets/utils/exec.js';
import { normaliseFingerprint } from './targets/pve/api-client.js';

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface DoctorDeps {
  run: Runner;
  now: () => Date;
  /** PATH to look for target programs in */
  pathVar: string;
  probePve: (p: PveProbe) => Promise<PveAnswer>;
  /** an http(s) URL's Date header (undefined when none) */
  httpDate: (url: string) => Promise<Date | undefined>;
  ntpSynchronized: () => Promise<boolean | undefined>;
}

export interface DoctorOptions {
  configPath: string;
  /** read targets from this directory's bans/ instead of the host's clone */
  ledgerDir?: string;
}

/** Clock skew tolerated before expiries are visibly wrong across the fleet. */
export const MAX_SKEW_MS = 60_000;

const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
const fail = (name: string, detail: string): Check => ({ name, status: 'fail', detail });
const skip = (name: string, detail: string): Check => ({ name, status: 'skip', detail });
const octal = (m: number) => '0' + m.toString(8).padStart(3, '0');

/**
 * Judges a file's mode. `private` (keys, tokens): owner only, as ssh-keygen and the pve-api
 * driver demand. `secret` (the config): not readable by everyone. `trust` (allowedSigners):
 * nobody but the owner may write it, or anyone could add a trusted key.
 */
export function judgeMode(name: string, path: string, kind: 'private' | 'secret' | 'trust', m: ReturnType<typeof fileMode>): Check {
  if ('error' in m) return fail(name, `${path}: cannot stat (${m.error})`);
  if (kind === 'private' && m.mode & 0o077) return fail(name, `${path} is readable by ${m.mode & 0o007 ? 'everyone' : 'its group'} (mode ${octal(m.mode)}); chmod 600`);
  if (m.mode & 0o022) return fail(name, `${path} is writable by group or others (mode ${octal(m.mode)}); chmod go-w`);
  if (kind === 'secret' && m.mode & 0o004) return fail(name, `${path} is readable by everyone (mode ${octal(m.mode)}); chmod o-rwx`);
  return ok(name, `${path} mode ${octal(m.mode)}`);
}

export function judgeClock(skewMs: number, source: string): Check {
  const s = Math.round(skewMs / 1000);
  const detail = `${s >= 0 ? '+' : ''}${s}s against ${source}`;
  return Math.abs(skewMs) <= MAX_SKEW_MS ? ok('clock', detail) : fail('clock', `${detail}: more than ${MAX_SKEW_MS / 1000}s off, expiries will be wrong; fix NTP`);
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
    const principals = await run('ssh-keygen', ['-Y', 'find-principals', '-s', join(dir, 'probe.sig'), '-f', cfg.allowedSigners], { timeoutMs: 10_000 })
      .then((r) => r.stdout.trim().split('\n'), () => [] as string[]);
    if (!principals.some((p) => principalMatches(p, who))) {
      return [...checks, fail('signing-key', `${cfg.signingKey} signs, but ${cfg.allowedSigners} does not list it for ${who}: commits from this host would be held`)];
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
  const mode = judgeMode('allowed-signers', cfg.allowedSigners, 'trust', fileMode(cfg.allowedSigners));
  if (mode.status === 'fail') return [mode];
  const lines = readFileSync(cfg.allowedSigners, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const bad = lines.findIndex((l) => !/(^|\s)(ssh-|ecdsa-|sk-)\S+\s+[A-Za-z0-9+/=]{20,}/.test(l));
  if (lines.length === 0) return [fail('allowed-signers', `${cfg.allowedSigners} lists no keys: every commit would be held`)];
  if (bad >= 0) return [fail('allowed-signers', `${cfg.allowedSigners}: entry ${bad + 1} is not "principals [options] keytype base64-key"`)];
  return [ok('allowed-signers', `${cfg.allowedSigners}: ${lines.length} key(s), mode ${mode.detail.split('mode ')[1]}`)];
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

interface SelectedTarget {
  name: string;
  driver: string;
  options: Record<string, unknown>;
}

async function targetsText(cfg: HostConfig, opts: DoctorOptions, run: Runner): Promise<string | undefined> {
  if (opts.ledgerDir) return readFileSync(join(opts.ledgerDir, LEDGER_FILES.targets), 'utf8');
  const clone = ledgerClonePath(cfg);
  if (!existsSync(join(clone, '.git'))) return undefined;
  const texts = await readLedgerTextsAt(clone, trackingRef(cfg.branch), run).catch(() => readLedgerTextsAt(clone, 'HEAD', run));
  return texts.targets ?? '';
}

export function selectTargets(text: string, host: string): SelectedTarget[] {
  const out: SelectedTarget[] = [];
  for (const doc of parseAllDocuments(text)) {
    const d = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown }; spec?: { driver?: unknown; hosts?: string[]; options?: Record<string, unknown> } } | null;
    if (!d || d.kind !== 'Target' || typeof d.spec?.driver !== 'string') continue;
    if (!hostMatches(d.spec.hosts, host)) continue;
    out.push({ name: String(d.metadata?.name ?? '?'), driver: d.spec.driver, options: d.spec.options ?? {} });
  }
  return out;
}

/** Programs each driver runs; route/nft/ipset enforcement rules need their tools too. */
export function programsFor(t: SelectedTarget): string[] {
  switch (t.driver) {
    case 'ipset': return t.options.enforce === 'none' ? ['ipset'] : ['ipset', 'iptables', 'ip6tables'];
    case 'nftables': return ['nft'];
    case 'route': return ['ip'];
    default: return [];
  }
}

async function checkTarget(t: SelectedTarget, deps: DoctorDeps, dates: { source: string; date: Date; at: Date }[]): Promise<Check[]> {
  const name = `target ${t.name}`;
  const programs = programsFor(t);
  if (programs.length > 0) {
    const missing = programs.filter((p) => !findProgram(p, deps.pathVar));
    return [missing.length > 0 ? fail(name, `${t.driver}: missing ${missing.join(', ')} (install it or drop this host from the target)`) : ok(name, `${t.driver}: ${programs.join(', ')} present`)];
  }
  if (t.driver === 'file' || t.driver === 'pve-clusterfw') {
    const path = String(t.options.path ?? (t.driver === 'pve-clusterfw' ? '/etc/pve/firewall/cluster.fw' : ''));
    if (!path) return [skip(name, `${t.driver}: no path option`)];
    return [existsSync(dirname(path)) ? ok(name, `${t.driver}: ${dirname(path)} exists`) : fail(name, `${t.driver}: directory ${dirname(path)} does not exist`)];
  }
  if (t.driver === 'pve-api') return checkPveApi(t, name, deps, dates);
  return [skip(name, `unknown driver ${t.driver}`)];
}

async function checkPveApi(t: SelectedTarget, name: string, deps: DoctorDeps, dates: { source: string; date: Date; at: Date }[]): Promise<Check[]> {
  const o = t.options;
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const checks: Check[] = [];
  const secretFile = str('tokenSecretFile');
  if (secretFile) {
    checks.push(judgeMode(`${name} token`, secretFile, 'private', fileMode(secretFile)));
    if (checks[0]!.status === 'fail' && checks[0]!.detail.includes('cannot stat')) return checks;
  }
  const url = str('url') ?? 'https://localhost:8006';
  // The same spellings the driver accepts (`aa:bb…`, `AABB…`, `sha256//…`).
  const pin = str('fingerprint') ? normaliseFingerprint(str('fingerprint')!) ?? str('fingerprint') : undefined;
  const tls = pin ? 'pinned fingerprint' : str('caFile') ? `CA ${str('caFile')}` : 'system CAs';
  try {
    const answer = await deps.probePve({ url, tokenId: str('tokenId'), tokenSecretFile: secretFile, fingerprint: pin, caFile: str('caFile') });
    if (answer.date) dates.push({ source: `Proxmox API ${new URL(url).host}`, date: answer.date, at: deps.now() });
    if (answer.status === 401) checks.push(fail(name, `${url}: TLS ok (${tls}), but the token was rejected (401)`));
    else if (answer.status === 403) checks.push(fail(name, `${url}: TLS ok (${tls}), but the token lacks privileges (403; needs Sys.Audit and Sys.Modify on /)`));
    else if (answer.status >= 400) checks.push(fail(name, `${url}: TLS ok (${tls}), HTTP ${answer.status}`));
    else checks.push(ok(name, `${url} reachable, TLS ok (${tls}), token accepted`));
  } catch (err) {
    checks.push(fail(name, `pve-api ${url}: ${errorMessage(err)}`));
  }
  return checks;
}

async function checkClock(cfg: HostConfig, deps: DoctorDeps, dates: { source: string; date: Date; at: Date }[]): Promise<Check> {
  if (/^https?:\/\//.test(cfg.remote)) {
    const u = new URL(cfg.remote);
    u.username = '';
    u.password = '';
    const date = await deps.httpDate(u.toString()).catch(() => undefined);
    if (date) dates.push({ source: `remote ${u.host}`, date, at: deps.now() });
  }
  if (dates.length > 0) {
    // A Date header has 1 s resolution and was sent before we read our clock: allow for both.
    const worst = dates.map((d) => ({ ...d, skew: d.at.getTime() - d.date.getTime() })).sort((a, b) => Math.abs(b.skew) - Math.abs(a.skew))[0]!;
    return judgeClock(worst.skew, worst.source);
  }
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
  checks.push(...checkAllowedSigners(cfg), ...(await checkSigning(cfg, deps.run)), await checkRemote(cfg, deps.run));
  const dates: { source: string; date: Date; at: Date }[] = [];
  let text: string | undefined;
  try {
    text = await targetsText(cfg, opts, deps.run);
  } catch (err) {
    checks.push(fail('targets', `cannot read targets: ${errorMessage(err)}`));
  }
  if (text === undefined) {
    if (!checks.some((c) => c.name === 'targets')) checks.push(skip('targets', `no ledger clone at ${ledgerClonePath(cfg)} yet (run fail2git reconcile --once, or pass --ledger DIR)`));
  } else {
    const selected = selectTargets(text, cfg.host);
    checks.push(selected.length > 0 ? ok('targets', `${selected.length} for host ${cfg.host}: ${selected.map((t) => `${t.name} (${t.driver})`).join(', ')}`) : skip('targets', `no target selects host ${cfg.host}`));
    for (const t of selected) checks.push(...(await checkTarget(t, deps, dates)));
  }
  checks.push(await checkClock(cfg, deps, dates));
  return checks;
}

export function formatCheck(c: Check): string {
  return `${c.status.padEnd(4)}  ${c.name.padEnd(18)}  ${c.detail}`;
}
