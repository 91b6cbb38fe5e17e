/**
 * pve-clusterfw: owns one `[IPSET name]` section of Proxmox's `cluster.fw` (run as root on
 * one node). observe() reads the section and reports the members carrying the `fail2git`
 * marker comment; apply() re-reads the file under Proxmox's cluster lock, splices the plan
 * into that section only, checks the size against pmxcfs's limit, and renames a temp file
 * over the original. Every other byte of the file is preserved.
 */
import { readFile } from 'node:fs/promises';
import { TargetError } from '../lib/errors.js';
import type { ApplyResult, DesiredEntry, Plan, Target, TargetFactory } from './types.js';
import { minCapacity } from '../plan/enforced-set.js';
import { networkOf } from '../net/cidr.js';
import { assertFwShape, assertPlainLf, firewallEnabled, ipsetReferenced, parseIpsetLine, splitFw, type FwDoc } from './pve/fw-text.js';
import { brokenLines, findManaged, foreignBans, isOwned, markerComment, ownedEntries, ownedLineStats, spliceManaged, SECTION_COMMENT } from './pve/managed-set.js';
import { PVE_LOCK_DIR, withClusterLock } from './pve/cluster-lock.js';
import { readFwFile, writeFwFileAtomic } from './pve/fw-file.js';
import { clusterFwProtected, corosyncAddresses } from './pve/cluster-addresses.js';
import { MAX_ENTRIES, options } from './utils/options.js';
import { pveIpsetName } from './pve/ipset-name.js';

export const DRIVER = 'pve-clusterfw';
export const DEFAULT_CLUSTER_FW = '/etc/pve/firewall/cluster.fw';
/** pmxcfs refuses files over 1 MiB and readers need headroom; stay well under it. */
export const DEFAULT_MAX_BYTES = 900 * 1024;

export interface PveClusterFwOptions {
  /** the cluster firewall file. @default "/etc/pve/firewall/cluster.fw" */
  path: string;
  /** the `[IPSET name]` section fail2git owns. @default "fail2ban" */
  ipset: string;
  /** Proxmox's cluster lock directory; by default pmxcfs's own when path is under /etc/pve/ */
  lockDir?: string;
  /** @default 10000 */
  lockTimeoutMs: number;
  /** refuse to write a file larger than this. @default 921600 (900 KiB) */
  maxBytes: number;
  /** where the cluster's node addresses are read (they are protected). @default "/etc/pve/corosync.conf" */
  corosyncPath: string;
  /** at most this many entries; by default as many as fit under maxBytes */
  maxEntries?: number;
}

export function pveClusterFwOptions(name: string, raw: Record<string, unknown>): PveClusterFwOptions {
  const o = options(name, DRIVER, raw).only(['path', 'ipset', 'lockDir', 'lockTimeoutMs', 'maxBytes', 'corosyncPath', MAX_ENTRIES]);
  const maxEntries = o.maxEntries();
  const path = o.optionalString('path') ?? DEFAULT_CLUSTER_FW;
  const lockDir = o.optionalString('lockDir') ?? (path.startsWith('/etc/pve/') ? PVE_LOCK_DIR : undefined);
  return {
    path,
    ipset: pveIpsetName(o, 'ipset', 'fail2ban'),
    ...(lockDir !== undefined ? { lockDir } : {}),
    lockTimeoutMs: o.number('lockTimeoutMs', 0, 10_000),
    maxBytes: o.number('maxBytes', 1, DEFAULT_MAX_BYTES),
    corosyncPath: o.optionalString('corosyncPath') ?? '/etc/pve/corosync.conf',
    ...(maxEntries !== undefined && { maxEntries }),
  };
}

export const createPveClusterFw: TargetFactory = (name, raw, deps) => {
  const { path, ipset, lockDir, lockTimeoutMs, maxBytes, corosyncPath, maxEntries } = pveClusterFwOptions(name, raw);
  let warnings: string[] = [];
  /** the file as the last observe() read it: what capacity() measures against */
  let observedDoc: FwDoc | undefined;
  /** line numbers of broken lines of ours (brokenLines) as of the last observe() */
  let broken: number[] = [];
  /** networks hand-made members of our section ban, as of the last observe() */
  let foreign: string[] = [];

  async function load(): Promise<{ text: string; doc: FwDoc }> {
    const text = await readFwFile(path, name);
    assertPlainLf(text, path, name);
    const doc = splitFw(text);
    assertFwShape(doc, path, name);
    warnings = collectWarnings(doc, path, ipset);
    return { text, doc };
  }

  async function applyLocked(plan: Plan): Promise<ApplyResult> {
    const { text } = await load();
    const add = plan.add.map((e) => ({ cidr: e.cidr, family: e.family, comment: markerComment(e, deps.host) }));
    const result = spliceManaged(text, ipset, { add, remove: plan.remove }, path, name);
    if (result.text === text) return { added: 0, removed: 0 };
    guardSize(text, result.text, { path, ipset, maxBytes, target: name });
    await writeFwFileAtomic(path, result.text, name);
    deps.log.info('pve-clusterfw.applied', { target: name, path, added: result.added, removed: result.removed });
    return { added: result.added, removed: result.removed };
  }

  return {
    name,
    driver: DRIVER,
    async observe() {
      const { doc } = await load();
      const section = findManaged(doc, ipset, path, name);
      const entries = ownedEntries(doc, section);
      observedDoc = doc;
      broken = brokenLines(doc, section).map((i) => i + 1);
      foreign = foreignBans(doc, section);
      return entries;
    },
    // marked exceptions, marked lines naming no network, a cut-off last line: the next write drops them
    needsRepair: () => broken.length > 0,
    coveredElsewhere: () => foreign,
    capacity(ranked) {
      const bySize = observedDoc ? entriesThatFit(observedDoc, ranked, { path, ipset, maxBytes, target: name }, deps.host) : undefined;
      return minCapacity(maxEntries, bySize);
    },
    async apply(plan) {
      if (!lockDir) return applyLocked(plan);
      return withClusterLock({ lockDir, timeoutMs: lockTimeoutMs }, () => applyLocked(plan));
    },
    async protectedAddresses() {
      const { doc } = await load();
      const corosync = await readFile(corosyncPath, 'utf8').then(corosyncAddresses, () => []);
      return [...new Set([...clusterFwProtected(doc), ...corosync])];
    },
    warnings: () => [...warnings, ...(broken.length > 0 ? [`${path}: line(s) ${broken.slice(0, 5).join(', ')} of [IPSET ${ipset}] are fail2git's but broken (an exception, no network, or cut off); rewritten`] : [])],
  } satisfies Target;
};

function collectWarnings(doc: FwDoc, path: string, ipset: string): string[] {
  const out: string[] = [];
  if (!firewallEnabled(doc)) {
    out.push(`${path}: the cluster firewall is not enabled ([OPTIONS] has no "enable: 1"); bans are stored but not enforced`);
  }
  if (ipset !== 'blacklist' && !ipsetReferenced(doc, ipset)) {
    out.push(`${path}: no rule uses +dc/${ipset}; add "IN DROP -source +dc/${ipset}" to [RULES] (or use ipset: blacklist) or the bans have no effect`);
  }
  return out;
}

interface SizeContext {
  path: string;
  ipset: string;
  maxBytes: number;
  target: string;
}

/**
 * How many of `ranked` (most important first) fit in the file under maxBytes, next to every
 * line that is not ours: an entry already held costs its line as it stands, a new one the
 * line apply() would write. Undefined when they all fit.
 */
function entriesThatFit(doc: FwDoc, ranked: readonly DesiredEntry[], ctx: SizeContext, host: string): number | undefined {
  const section = findManaged(doc, ctx.ipset, ctx.path, ctx.target);
  const held = new Map<string, number>();
  let ownedBytes = 0;
  for (let i = section ? section.start + 1 : 0; section && i < section.end; i++) {
    const line = parseIpsetLine(doc.lines[i]!);
    if (!line || !isOwned(line)) continue;
    const bytes = Buffer.byteLength(doc.lines[i]!) + 1;
    ownedBytes += bytes;
    const key = networkOf(line.token)?.key;
    if (key !== undefined && !held.has(key)) held.set(key, bytes);
  }
  // a missing section costs its header, a blank line and padding around it
  const header = section ? 0 : Buffer.byteLength(`[IPSET ${ctx.ipset}] # ${SECTION_COMMENT}`) + 4;
  let left = ctx.maxBytes - (Buffer.byteLength(doc.lines.join('\n')) - ownedBytes) - header;
  for (let i = 0; i < ranked.length; i++) {
    const e = ranked[i]!;
    left -= held.get(e.cidr) ?? Buffer.byteLength(`${e.cidr} # ${markerComment(e, host)}`) + 1;
    if (left < 0) return i;
  }
  return undefined;
}

/** Refuses a file that grows past the margin, saying how many of our entries would fit. */
function guardSize(before: string, after: string, ctx: SizeContext): void {
  const size = Buffer.byteLength(after);
  if (size <= ctx.maxBytes || size <= Buffer.byteLength(before)) return;
  const doc = splitFw(after);
  const owned = ownedLineStats(doc, findManaged(doc, ctx.ipset, ctx.path, ctx.target));
  const avg = owned.count > 0 ? owned.bytes / owned.count : 1;
  const fit = Math.max(0, Math.floor((ctx.maxBytes - (size - owned.bytes)) / avg));
  throw new TargetError(ctx.target, 'E_PVE_TOO_LARGE',
    `${ctx.path}: would grow to ${kib(size)} KiB, over the ${kib(ctx.maxBytes)} KiB safety limit (pmxcfs refuses files over 1 MiB); ` +
    `about ${fit} of ${owned.count} fail2git entries fit; enforce this many bans with the ipset or nftables driver on each node, or ban fewer; file unchanged`);
}

const kib = (n: number): string => (n / 1024).toFixed(0);
