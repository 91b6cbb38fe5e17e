/**
 * Addresses that are never enforced, whatever the ledger says (DESIGN rule 4): a ban
 * on them would cut this host off from itself, from the ledger it needs to lift the ban,
 * or from an API it manages. Gathered fresh every run: this host's own addresses
 * (`ip -j addr`), the git remote's host, API endpoints named in target options, and
 * what each target reports through protectedAddresses().
 */
import { lookup } from 'node:dns/promises';
import { isAddressLiteral } from '../net/cidr.js';
import { TransientError } from '../lib/errors.js';
import type { TargetDoc } from '../ledger/types.js';
import type { Runner } from '../lib/exec.js';

/** Local addresses from `ip -j addr show` output. Pure. */
export function parseIpAddrJson(text: string): string[] {
  let links: unknown;
  try {
    links = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(links)) return [];
  const out: string[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  for (const link of links as unknown[]) {
    const info = isObj(link) ? link.addr_info : undefined;
    if (!Array.isArray(info)) continue;
    for (const a of info as unknown[]) if (isObj(a) && typeof a.local === 'string') out.push(a.local);
  }
  return out;
}

/**
 * The host part of a git remote URL: `ssh://u@h:22/p`, `https://h/p`, `git://h/p`,
 * scp-like `u@h:p`; undefined for local paths and `file://`. Pure.
 */
export function remoteHost(url: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]*)/i.exec(url);
  if (m) {
    if (/^file:/i.test(url)) return undefined;
    const host = m[1]!.replace(/^\[|\]$/g, '');
    return host === '' ? undefined : host;
  }
  // scp-like syntax: a colon before any slash, and not a Windows drive letter.
  const scp = /^(?:[^@/:]+@)?(\[[^\]]+\]|[^:/]+):(?!\/\/)/.exec(url);
  if (scp && !url.startsWith('/') && !url.startsWith('.')) return scp[1]!.replace(/^\[|\]$/g, '');
  return undefined;
}

/** Hosts of API endpoints named in target options (`url`), e.g. a Proxmox API. Pure. */
export function endpointHosts(docs: readonly TargetDoc[]): string[] {
  const out: string[] = [];
  for (const d of docs) {
    const url = d.spec.options?.url;
    if (typeof url === 'string') {
      const h = remoteHost(url);
      if (h) out.push(h);
    }
  }
  return out;
}

/** This host's own addresses; an empty list (and a warning upstream) when `ip` fails. */
export async function hostAddresses(run: Runner): Promise<string[]> {
  const { stdout } = await run('ip', ['-j', 'addr', 'show'], { timeoutMs: 10_000 });
  return parseIpAddrJson(stdout);
}

/** How long a name lookup may take: a run must not hang on a resolver that never answers. */
export const RESOLVE_TIMEOUT_MS = 5_000;

/** Every address a host name resolves to (an IP literal resolves to itself); bounded by RESOLVE_TIMEOUT_MS. */
export async function resolveHost(host: string, timeoutMs = RESOLVE_TIMEOUT_MS): Promise<string[]> {
  if (isAddressLiteral(host)) return [host];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError('E_RESOLVE_TIMEOUT', `no answer from the resolver in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const found = await Promise.race([lookup(host, { all: true, verbatim: true }), timeout]);
    return found.map((a) => a.address);
  } finally {
    clearTimeout(timer);
  }
}

export interface ProtectSources {
  run: Runner;
  remote: string;
  targetDocs: readonly TargetDoc[];
  /** API URLs the host config declares (pveCredentials): protected whichever target uses them */
  endpoints?: readonly string[];
  /** addresses from the selected targets' protectedAddresses() */
  fromTargets: readonly string[];
  /** a source that failed: logged, never fatal (the others still protect) */
  onError: (source: string, err: unknown) => void;
}

/** All protected addresses, deduplicated. A source that fails is reported and skipped. */
export async function protectedAddresses(src: ProtectSources): Promise<string[]> {
  const all = new Set<string>(src.fromTargets);
  try {
    for (const a of await hostAddresses(src.run)) all.add(a);
  } catch (err) {
    src.onError('host addresses', err);
  }
  const hosts = [remoteHost(src.remote), ...endpointHosts(src.targetDocs), ...(src.endpoints ?? []).map(remoteHost)].filter((h): h is string => h !== undefined);
  for (const h of new Set(hosts)) {
    try {
      for (const a of await resolveHost(h)) all.add(a);
    } catch (err) {
      src.onError(`resolve ${h}`, err);
    }
  }
  return [...all];
}
