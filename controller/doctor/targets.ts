/**
 * Doctor checks for the targets selected for this host: the host lets them write their
 * paths and declares their credential (the reconciler's own gate, targets/host-sinks.ts),
 * their programs are installed, their paths exist and hold nothing fail2git did not write,
 * and a pve-api endpoint answers over TLS with the configured pin or CA and accepts the
 * token. Selection uses the reconciler's own host matcher.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage } from '../lib/errors.js';
import { hostMatches } from '../ledger/hosts.js';
import { parseTargets } from '../ledger/documents.js';
import type { Problem } from '../ledger/types.js';
import { normaliseFingerprint } from '../targets/pve/api-client.js';
import { bindTargetToHost, type HostSinks } from '../targets/host-sinks.js';
import { notOurList, type FileFormat } from '../targets/file-format.js';
import { assertFwShape, splitFw } from '../targets/pve/fw-text.js';
import type { TargetDoc } from '../ledger/types.js';
import { fail, judgeMode, ok, skip, type Check, type ClockSample } from './checks.js';
import { fileMode, findProgram, type PveAnswer, type PveProbe } from './probes.js';

export interface SelectedTarget {
  name: string;
  driver: string;
  options: Record<string, unknown>;
}

export interface TargetCheckDeps {
  now: () => Date;
  /** PATH to look for target programs in */
  pathVar: string;
  probePve: (p: PveProbe) => Promise<PveAnswer>;
  /** what the host config lets targets write and call; absent = options as the ledger wrote them */
  sinks?: HostSinks;
}

/** The driver options as the reconciler would build them on this host, or its one-line refusal. */
async function boundOptions(t: SelectedTarget, sinks: HostSinks | undefined): Promise<{ options: Record<string, unknown> } | { refusal: string }> {
  if (!sinks) return { options: t.options };
  const doc: TargetDoc = { apiVersion: 'fail2git/v1', kind: 'Target', metadata: { name: t.name }, spec: { driver: t.driver as TargetDoc['spec']['driver'], options: t.options } };
  try {
    return { options: await bindTargetToHost(doc, sinks) };
  } catch (err) {
    return { refusal: errorMessage(err) };
  }
}

/** Why the driver would refuse the file now at `path`, or undefined. */
function foreignContent(driver: string, path: string, format: FileFormat): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  if (driver === 'file') {
    const why = notOurList(text, format);
    return why && `${path} holds content fail2git did not write (${why}); the target refuses it`;
  }
  try {
    assertFwShape(splitFw(text), path, 'doctor');
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/**
 * The targets of a targets.yaml text whose host globs match `host`: read by the ledger's own
 * reader and matched by the reconciler's host matcher, so doctor checks what reconcile runs.
 * Documents the reader refuses are in `problems` (reconcile would refuse them too).
 */
export function selectTargets(text: string, host: string): { selected: SelectedTarget[]; problems: Problem[] } {
  const { targets, problems } = parseTargets(text);
  const selected = targets
    .filter((t) => hostMatches(t.spec.hosts, host))
    .map((t) => ({ name: t.metadata.name, driver: t.spec.driver, options: (t.spec.options ?? {}) as Record<string, unknown> }));
  return { selected, problems };
}

/** Programs each driver runs; ipset's enforcement rules need iptables for both families. */
export function programsFor(t: SelectedTarget): string[] {
  switch (t.driver) {
    case 'ipset': return t.options.enforce === 'none' ? ['ipset'] : ['ipset', 'iptables', 'ip6tables'];
    case 'nftables': return ['nft'];
    case 'route': return ['ip'];
    default: return [];
  }
}

/** One or two lines per target; pve-api Date headers are added to `clock`. */
export async function checkTarget(selected: SelectedTarget, deps: TargetCheckDeps, clock: ClockSample[]): Promise<Check[]> {
  const name = `target ${selected.name}`;
  const bound = await boundOptions(selected, deps.sinks);
  if ('refusal' in bound) return [fail(name, bound.refusal)];
  const t = { ...selected, options: bound.options };
  const programs = programsFor(t);
  if (programs.length > 0) {
    const missing = programs.filter((p) => !findProgram(p, deps.pathVar));
    return [missing.length > 0 ? fail(name, `${t.driver}: missing ${missing.join(', ')} (install it or drop this host from the target)`) : ok(name, `${t.driver}: ${programs.join(', ')} present`)];
  }
  if (t.driver === 'file' || t.driver === 'pve-clusterfw') {
    const path = String(t.options.path ?? (t.driver === 'pve-clusterfw' ? '/etc/pve/firewall/cluster.fw' : ''));
    if (!path) return [skip(name, `${t.driver}: no path option`)];
    if (!existsSync(dirname(path))) return [fail(name, `${t.driver}: directory ${dirname(path)} does not exist`)];
    const foreign = foreignContent(t.driver, path, t.options.format === 'json' ? 'json' : 'txt');
    return [foreign ? fail(name, `${t.driver}: ${foreign}`) : ok(name, `${t.driver}: ${path} may be written (${dirname(path)} exists)`)];
  }
  if (t.driver === 'pve-api') return checkPveApi(t, name, deps, clock);
  return [skip(name, `unknown driver ${t.driver}`)];
}

function pveVerdict(url: string, tls: string, status: number): Check {
  const name = 'pve';
  if (status === 401) return fail(name, `${url}: TLS ok (${tls}), but the token was rejected (401)`);
  if (status === 403) return fail(name, `${url}: TLS ok (${tls}), but the token lacks privileges (403; needs Sys.Audit and Sys.Modify on /)`);
  if (status >= 400) return fail(name, `${url}: TLS ok (${tls}), HTTP ${status}`);
  return ok(name, `${url} reachable, TLS ok (${tls}), token accepted`);
}

async function checkPveApi(t: SelectedTarget, name: string, deps: TargetCheckDeps, clock: ClockSample[]): Promise<Check[]> {
  const str = (k: string) => (typeof t.options[k] === 'string' ? (t.options[k] as string) : undefined);
  const checks: Check[] = [];
  const secretFile = str('tokenSecretFile');
  if (secretFile) {
    const mode = judgeMode(`${name} token`, secretFile, 'private', fileMode(secretFile));
    checks.push(mode);
    if (mode.status === 'fail' && mode.detail.includes('cannot stat')) return checks;
  }
  const url = str('url') ?? 'https://localhost:8006';
  // The same spellings the driver accepts (`aa:bb…`, `AABB…`, `sha256//…`).
  const pin = str('fingerprint') ? normaliseFingerprint(str('fingerprint')!) ?? str('fingerprint') : undefined;
  const tls = pin ? 'pinned fingerprint' : str('caFile') ? `CA ${str('caFile')}` : 'system CAs';
  try {
    const answer = await deps.probePve({ url, tokenId: str('tokenId'), tokenSecretFile: secretFile, fingerprint: pin, caFile: str('caFile') });
    if (answer.date) clock.push({ source: `Proxmox API ${new URL(url).host}`, date: answer.date, at: deps.now() });
    checks.push({ ...pveVerdict(url, tls, answer.status), name });
  } catch (err) {
    checks.push(fail(name, `pve-api ${url}: ${errorMessage(err)}`));
  }
  return checks;
}
