/**
 * pve-api: owns the members of one datacenter IPSet that carry the `fail2git` marker
 * comment, through Proxmox's REST API (any host that reaches port 8006). observe() is one
 * GET; apply() creates the set if needed, removes with DELETE by the exact string GET
 * returned (the API reports success for a spelling it does not hold) and adds with POST.
 * Every write takes Proxmox's cluster lock and rewrites cluster.fw, so writes run through
 * a small p-queue and are retried with backoff when Proxmox says "try again".
 */
import { lookup } from 'node:dns/promises';
import PQueue from 'p-queue';
import { errorMessage, TargetError } from '../lib/errors.js';
import type { ApplyResult, DesiredEntry, ObservedEntry, Plan, Target, TargetFactory } from './types.js';
import { PveApiClient, PveApiError, unexpectedAnswer } from './pve/api-client.js';
import { pveApiOptions } from './pve/api-config.js';
import { isMarker, markerComment, SECTION_COMMENT } from './pve/managed-set.js';
import { isAddressLiteral, networkOf } from '../net/cidr.js';
import { withRetry } from './pve/retry.js';

export const DRIVER = 'pve-api';

interface ApiEntry { cidr: string; comment?: string; nomatch?: number | boolean; digest?: string }
interface Snapshot { entries: ApiEntry[]; digest?: string }

export const createPveApi: TargetFactory = (name, options, deps) => {
  const cfg = pveApiOptions(name, options);
  const client = new PveApiClient(name, cfg.client);
  const setPath = `/cluster/firewall/ipset/${encodeURIComponent(cfg.ipset)}`;
  const retry = <T>(fn: () => Promise<T>): Promise<T> =>
    withRetry(fn, { retries: cfg.retries, baseMs: cfg.retryBaseMs, retryable: (e) => e instanceof PveApiError && e.retryable });
  /** the set's members and digest as of the last GET; undefined once our own write made them stale */
  let snapshot: Snapshot | undefined;
  let setExists: boolean | undefined;

  async function readSet(): Promise<ApiEntry[]> {
    try {
      const entries = ipsetMembers(name, setPath, await retry(() => client.call('GET', setPath)));
      setExists = true;
      snapshot = { entries, ...(entries[0]?.digest ? { digest: entries[0].digest } : {}) };
      return entries;
    } catch (err) {
      if (!(err instanceof PveApiError && /no such ipset/i.test(err.message))) throw err;
      setExists = false;
      snapshot = { entries: [] };
      return [];
    }
  }

  async function ensureSet(): Promise<void> {
    if (setExists) return;
    await retry(() => client.call('POST', '/cluster/firewall/ipset', { name: cfg.ipset, comment: SECTION_COMMENT })).catch(ignoreIf(/already exists/));
    setExists = true;
  }

  async function add(entry: DesiredEntry): Promise<void> {
    const body = { cidr: entry.cidr, comment: markerComment(entry, deps.host) };
    // 400 "already exists": someone (maybe a previous run cut short) holds it; it is enforced.
    await retry(() => client.call('POST', setPath, body)).catch(ignoreIf(/already exists/));
    snapshot = undefined;
  }

  async function currentSet(): Promise<Snapshot> {
    if (!snapshot) await readSet();
    return snapshot ?? { entries: [] };
  }

  /** Re-reads the set when our last write made the digest stale, so DELETE carries a current one. */
  async function remove(entry: ObservedEntry): Promise<void> {
    const raw = entry.raw ?? entry.cidr;
    await retry(async () => {
      const current = await currentSet();
      // ours: marked, an exception (broken) or not
      const held = current.entries.find((e) => e.cidr === raw && isMarker(e.comment));
      if (!held) return; // vanished (or no longer ours): done
      const query: Record<string, string> = current.digest ? { digest: current.digest } : {};
      try {
        await client.call('DELETE', `${setPath}/${encodeURIComponent(raw)}`, query);
      } catch (err) {
        if (err instanceof PveApiError && /detected modified configuration/i.test(err.message)) {
          snapshot = undefined;
          throw new StaleDigest(name, err); // someone else wrote: re-read and retry
        }
        throw err;
      }
      snapshot = undefined;
    });
  }

  /** marked members Proxmox holds as exceptions (`nomatch`), as of the last GET */
  let broken: ObservedEntry[] = [];
  /** networks hand-made members of the set ban, as of the last GET */
  let foreign: string[] = [];

  async function applyPlan(plan: Plan): Promise<ApplyResult> {
    const queue = new PQueue({ concurrency: cfg.concurrency });
    const total = plan.add.length + plan.remove.length;
    const result = { added: 0, removed: 0 };
    const failures: unknown[] = [];
    let fatal: PveApiError | undefined;
    let done = 0;
    const track = (kind: 'added' | 'removed', job: () => Promise<void>) => async () => {
      try {
        await job();
        result[kind]++;
      } catch (err) {
        failures.push(err);
        // a wrong token or missing privilege fails every call alike: stop, and say that
        if (err instanceof PveApiError && (err.status === 401 || err.status === 403)) {
          fatal ??= err;
          queue.clear();
        }
      }
      if (++done % cfg.progressEvery === 0) deps.log.info('pve-api.progress', { target: name, done, total });
    };
    if (plan.add.length > 0) await ensureSet();
    // marked members that are exceptions (nomatch) un-ban: they go first, and come back as bans if desired
    const removing = new Set(plan.remove.map((r) => r.raw ?? r.cidr));
    for (const b of broken) if (!removing.has(b.raw ?? b.cidr)) void queue.add(track('removed', () => remove(b)));
    for (const r of plan.remove) void queue.add(track('removed', () => remove(r)));
    await queue.onIdle();
    for (const a of fatal ? [] : plan.add) void queue.add(track('added', () => add(a)));
    await queue.onIdle();
    if (fatal) throw fatal;
    if (failures.length > 0) {
      throw new TargetError(name, 'E_PVE_API_APPLY', `${failures.length} of ${total} changes failed (${result.added} added, ${result.removed} removed); first: ${errorMessage(failures[0])}`, { cause: failures[0] });
    }
    if (total >= cfg.progressEvery) deps.log.info('pve-api.applied', { target: name, ...result });
    return result;
  }

  return {
    name,
    driver: DRIVER,
    async observe() {
      const entries = await readSet();
      foreign = entries.filter((e) => !e.nomatch && !isMarker(e.comment)).map((e) => networkOf(e.cidr)?.key).filter((k): k is string => k !== undefined);
      broken = entries.filter((e) => e.nomatch && isMarker(e.comment)).map((e) => ({ cidr: networkOf(e.cidr)?.key ?? e.cidr, family: e.cidr.includes(':') ? 6 : 4, raw: e.cidr }));
      return ownedEntries(entries);
    },
    needsRepair: () => broken.length > 0,
    coveredElsewhere: () => foreign,
    warnings: () => (broken.length > 0 ? [`IPSet ${cfg.ipset}: ${broken.length} member(s) with fail2git's marker are exceptions (nomatch), which un-ban; replaced`] : []),
    apply: applyPlan,
    capacity: () => cfg.maxEntries,
    async protectedAddresses() {
      return apiHostAddresses(new URL(cfg.client.baseUrl).hostname);
    },
    async close() {
      client.close();
    },
  } satisfies Target;
};

/** The members of a GET of the IPSet, checked for the shape Proxmox answers with. */
function ipsetMembers(target: string, path: string, data: unknown): ApiEntry[] {
  const bad = (why: string) => unexpectedAnswer(target, 'GET', path, why);
  if (!Array.isArray(data)) throw bad(`not a JSON list (got ${data === null ? 'null' : typeof data})`);
  data.forEach((m: unknown, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw bad(`member ${i + 1} is not a JSON object`);
    const { cidr, comment, digest } = m as Record<string, unknown>;
    if (typeof cidr !== 'string') throw bad(`member ${i + 1} has no "cidr" string`);
    if (comment !== undefined && typeof comment !== 'string') throw bad(`member ${i + 1} (${cidr.slice(0, 64)}): "comment" is not a string`);
    if (digest !== undefined && typeof digest !== 'string') throw bad(`member ${i + 1} (${cidr.slice(0, 64)}): "digest" is not a string`);
  });
  return data as ApiEntry[];
}

function isOwned(e: ApiEntry): boolean {
  return !e.nomatch && isMarker(e.comment);
}

/** A DELETE refused because the set changed since our GET: always worth a re-read and another try. */
class StaleDigest extends PveApiError {
  constructor(target: string, cause: PveApiError) {
    super(target, cause.status, cause.message, cause.errors, cause);
  }

  override get retryable(): boolean {
    return true;
  }
}

function ownedEntries(entries: ApiEntry[]): ObservedEntry[] {
  const out = new Map<string, ObservedEntry>();
  for (const e of entries) {
    const key = isOwned(e) ? networkOf(e.cidr) : undefined;
    if (!key || out.has(key.key)) continue;
    out.set(key.key, { cidr: key.key, family: key.family, ...(e.cidr !== key.key ? { raw: e.cidr } : {}) });
  }
  return [...out.values()];
}

function ignoreIf(pattern: RegExp): (err: unknown) => void {
  return (err) => {
    if (err instanceof PveApiError && err.status === 400 && Object.values(err.errors).some((v) => pattern.test(v))) return;
    throw err;
  };
}

/** The API host's own addresses: banning them would cut this reconciler off from the API. */
async function apiHostAddresses(hostname: string): Promise<string[]> {
  const host = hostname.replace(/^\[|\]$/g, '');
  const addrs = isAddressLiteral(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  return [...new Set(addrs.map((a) => networkOf(a)?.key).filter((k): k is string => k !== undefined))];
}
