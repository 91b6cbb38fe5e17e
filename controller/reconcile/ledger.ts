/**
 * The ledger half of a run: which commit is enforced (the tip when valid and verified,
 * else the last good one) and what it wants enforced now. New commits are parsed once;
 * afterwards a run reads the cached desired set (controller/desired/cache.ts).
 */
import { ledgerClonePath } from '../config/host-config.js';
import { desiredSet } from '../desired/desired-set.js';
import { buildCache, cacheUsable, liveFromCache, protectedKeyOf, readDesiredCache, writeDesiredCache } from '../desired/cache.js';
import { Fail2gitError, errorMessage } from '../lib/errors.js';
import { checkoutRev } from '../git/clone.js';
import { readLastGood, readLedgerSnapshot, writeLastGood } from './last-good.js';
import { formatProblem, type Ledger, type LoadResult } from '../ledger/types.js';
import { parseProtected, partitionProtected } from '../desired/protected-ranges.js';
import type { RunContext } from './context.js';
import { desiredIdentity } from './record.js';
import { underLimits } from '../plan/guard-limits.js';

/** The tip when it is valid and verified; otherwise the last good commit, with the reasons kept. */
export async function loadLedger(ctx: RunContext): Promise<void> {
  const { cfg, deps } = ctx;
  const tip = ctx.sync?.tip;
  ctx.lastGood = readLastGood(cfg.stateDir);
  ctx.enforcedBefore = ctx.lastGood?.rev;
  if (tip && tip !== ctx.lastGood?.rev) {
    const known = rememberedProblems(ctx, tip);
    if (known) {
      ctx.tipProblems = known.problems;
      ctx.tipCheckedAt = known.at;
    } else {
      ctx.tipProblems = await checkTip(ctx, tip);
      ctx.tipCheckedAt = deps.now().toISOString();
    }
    if (ctx.tipProblems.length === 0) {
      ctx.lastGood = writeLastGood(cfg.stateDir, tip, deps.now(), snapshotFor(ctx, ctx.ledger!));
      ctx.applied = tip;
      deps.log.info('ledger.accepted', { rev: tip });
      // For people and read-only commands only: runs beside enforcement, awaited at the end.
      ctx.pending.push(checkoutRev(ledgerClonePath(cfg), cfg.branch, tip, deps.run).catch((err: unknown) =>
        deps.log.warn('checkout.failed', { rev: tip, error: errorMessage(err) })));
      return;
    }
    deps.log.error('ledger.invalid', { rev: tip, problems: ctx.tipProblems.length, first: ctx.tipProblems[0], enforcing: ctx.lastGood?.rev ?? null });
  }
  if (!ctx.lastGood) return;
  const rev = ctx.lastGood.rev;
  // Tip unchanged: the desired-set cache carries policy and targets, so the ledger
  // snapshot is read only when the cache cannot answer (see computeDesired).
  ctx.cache = readDesiredCache(cfg.stateDir, rev);
  if (ctx.cache) {
    ctx.ledger = { bans: [], allow: ctx.cache.allow.map((cidr) => ({ cidr })), policy: ctx.cache.policy, targets: ctx.cache.targets, source: { dir: ledgerClonePath(cfg), rev } };
    ctx.ledgerIsLight = true;
  } else {
    ctx.ledger = await fullLedger(ctx, rev);
  }
  ctx.applied = ctx.ledger ? rev : undefined;
}

/** gc (controller/loop/after-run.ts) reads the enforced ledger from a snapshot, on the gcHost only. */
function snapshotFor(ctx: RunContext, ledger: Ledger): Ledger | undefined {
  return ledger.policy.gcHost === ctx.cfg.host ? ledger : undefined;
}

async function fullLedger(ctx: RunContext, rev: string): Promise<Ledger | undefined> {
  return readLedgerSnapshot(ctx.cfg.stateDir, rev) ?? (await reloadLastGood(ctx, rev));
}

/** Re-check an invalid tip at most this often (a fixed allowed_signers file, a new policy). */
export const INVALID_TIP_RECHECK_MS = 5 * 60_000;

/** An invalid tip seen recently is not parsed again every tick: its problems are remembered. */
function rememberedProblems(ctx: RunContext, tip: string): { problems: string[]; at: string } | undefined {
  const c = ctx.previous?.commit;
  if (!c || c.tip !== tip || c.tipProblems.length === 0 || !c.tipCheckedAt) return undefined;
  const age = ctx.deps.now().getTime() - Date.parse(c.tipCheckedAt);
  return age >= 0 && age < INVALID_TIP_RECHECK_MS ? { problems: c.tipProblems, at: c.tipCheckedAt } : undefined;
}

/**
 * The YAML parser and schema validators load only when a new commit must be parsed: a run
 * whose tip has not moved reads the JSON snapshot and never pays for them.
 */
export async function loadLedgerFromGit(repoDir: string, rev: string): Promise<LoadResult> {
  const { loadLedgerFromGit: load } = await import('../ledger/load.js');
  return load(repoDir, rev);
}

/** Loads and verifies a new tip; returns its problems (empty = good, and ctx.ledger is set). */
async function checkTip(ctx: RunContext, tip: string): Promise<string[]> {
  let loaded;
  try {
    loaded = await loadLedgerFromGit(ledgerClonePath(ctx.cfg), tip);
  } catch (err) {
    return [`${tip.slice(0, 12)}: ${errorMessage(err)}`];
  }
  if (loaded.problems.length > 0) return loaded.problems.map(formatProblem);
  const verdict = ctx.deps.verifyCommit ? await ctx.deps.verifyCommit(tip, ctx.lastGood?.rev, ctx.deps.now()) : { ok: true as const };
  if (!verdict.ok) return [`${tip.slice(0, 12)}: ${verdict.message}`];
  ctx.ledger = slimLedger(loaded.ledger);
  return [];
}

async function reloadLastGood(ctx: RunContext, rev: string): Promise<Ledger | undefined> {
  try {
    const loaded = await loadLedgerFromGit(ledgerClonePath(ctx.cfg), rev);
    if (loaded.problems.length > 0) return undefined;
    const ledger = slimLedger(loaded.ledger);
    writeLastGood(ctx.cfg.stateDir, rev, ctx.deps.now(), snapshotFor(ctx, ledger));
    return ledger;
  } catch (err) {
    ctx.deps.log.error('ledger.last-good-unreadable', { rev, error: errorMessage(err) });
    return undefined;
  }
}

/** Only what enforcing needs: keeps the cached snapshot small and quick to parse. */
function slimLedger(l: Ledger): Ledger {
  // An entry that is already slim is kept as it is: 100k copies are what a changing run can least afford.
  const bans = l.bans.map((b) => isSlim(b) ? b : {
    cidr: b.cidr, ...(b.expires && { expires: b.expires }), ...(b.by && { by: b.by }), ...(b.jail && { jail: b.jail }), ...(b.at && { at: b.at }), ...(b.count !== undefined && { count: b.count }),
  });
  return { ...l, bans };
}

const SLIM_KEYS = new Set(['cidr', 'expires', 'by', 'jail', 'at', 'count']);

/** No reason, no empty text, nothing but the slim keys: the copy would hold the same. */
function isSlim(b: Ledger['bans'][number]): boolean {
  if (b.reason !== undefined || b.expires === '' || b.by === '' || b.jail === '' || b.at === '') return false;
  for (const k in b) if (!SLIM_KEYS.has(k)) return false;
  return true;
}

/**
 * Live entries now, minus allowlisted, too broad and protected addresses: from the cache
 * when it answers for this commit and protection, else computed and cached.
 */
export async function computeDesired(ctx: RunContext, protectedKeys: string[]): Promise<void> {
  const { deps, cfg } = ctx;
  const now = deps.now();
  const rev = ctx.applied!;
  // Stricter limits than the commit's own give another set: they are part of its name.
  const limits = ctx.guard?.limits;
  const key = protectedKeyOf(protectedKeys) + (limits && limits.kept.length > 0 ? `|under:${ctx.guard!.baseline?.rev ?? ''}` : '');
  if (cacheUsable(ctx.cache, rev, key, now)) {
    const live = liveFromCache(ctx.cache, now);
    ctx.desired = live.entries;
    ctx.desiredId = desiredIdentity(rev, key, live.entries.length);
    ctx.skipped = live.skipped;
    if (live.nextExpiry) ctx.nextExpiry = live.nextExpiry;
    return;
  }
  const own = ctx.ledgerIsLight ? await fullLedger(ctx, rev) : ctx.ledger;
  if (!own) throw new Fail2gitError('E_LAST_GOOD', `the ledger of the last good commit ${rev.slice(0, 12)} cannot be read`);
  const ledger = limits ? underLimits(own, limits) : own;
  // Protected addresses first, in linear time (desiredSet would compare every ban with every address).
  const prot = partitionProtected(ledger.bans, parseProtected(protectedKeys));
  const d = desiredSet({ ...ledger, bans: prot.kept }, now);
  ctx.desired = d.entries;
  ctx.desiredId = desiredIdentity(rev, key, d.entries.length);
  if (d.nextExpiry) ctx.nextExpiry = d.nextExpiry;
  for (const s of [...prot.skipped, ...d.skipped]) ctx.skipped[s.reason] = (ctx.skipped[s.reason] ?? 0) + 1;
  for (const s of prot.skipped) deps.log.warn('skip.protected', { cidr: s.cidr, detail: s.detail });
  try {
    writeDesiredCache(cfg.stateDir, buildCache(rev, own, key, now, d.entries, ctx.skipped));
  } catch (err) {
    deps.log.warn('cache.write-failed', { error: errorMessage(err) });
  }
}
