/**
 * Doctor checks for the targets selected for this host: their programs are installed,
 * their paths exist, and a pve-api endpoint answers over TLS with the configured pin or CA
 * and accepts the token. Selection uses the reconciler's own host matcher.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage } from '../lib/errors.js';
import { hostMatches } from '../ledger/hosts.js';
import { parseTargets } from '../ledger/documents.js';
import type { Problem } from '../ledger/types.js';
import { normaliseFingerprint } from '../targets/pve/api-client.js';
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
export async function checkTarget(t: SelectedTarget, deps: TargetCheckDeps, clock: ClockSample[]): Promise<Check[]> {
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
