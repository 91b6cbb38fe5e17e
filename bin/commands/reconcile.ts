/**
 * `fail2git reconcile`: bring this host's targets in line with the ledger, once (default;
 * for a systemd timer or cron) or in a loop (`--watch`; the systemd service). Logs are
 * one JSON line per event on stderr; a human summary goes to stdout.
 */
import { existsSync, readdirSync } from 'node:fs';
import { EXIT_FINDING, EXIT_OK, EXIT_USAGE, UsageError, err, out, parseFlags, type Command } from '../cli.js';
import { ledgerClonePath, spoolPath, type HostConfig } from '../../controller/config/host-config.js';
import { parseDuration } from '../../controller/lib/duration.js';
import { InputError, errorMessage } from '../../controller/lib/errors.js';
import { createJsonLogger, createRepeatSuppressingLogger } from '../../controller/lib/log.js';
import { reconcile, type ReconcileDeps, type ReconcileOptions, type RunResult } from '../../controller/reconcile.js';
import { execRunner, stopChildren } from '../../controller/lib/exec.js';
import type { Logger } from '../../controller/targets/types.js';
import { tryRunLock } from '../../controller/loop/run-lock.js';
import { Waker, watchLoop } from '../../controller/loop/watch.js';
import { SingleFlight } from '../../controller/loop/background.js';
import { LedgerFetch } from '../../controller/loop/ledger-fetch.js';
import { WakeListener, loadWakeAuth } from '../../controller/loop/wake.js';
import { readFleetSize } from '../../controller/fleet/size.js';
import { summarize, writeGuard } from '../../hooks/guard-cache.js';
import { VERSION } from '../commands.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, commitVerifier, createTarget, resolveHostConfig, short, type ConfigFlagValues } from './_reconcile.js';

const HELP = `Usage: fail2git reconcile [--once | --watch] [--interval 30s] [--dry-run] [--force]
                          [--target NAME]... [--plan FILE] [--json] [--config FILE | --remote URL ...]

Brings every target of this host (Target documents whose hosts globs match) in line
with the ledger at the remote tip: observe, diff, guard, apply, verify. An invalid tip
or an unreachable remote leaves the last good commit enforced; expiries still happen.

  --once             one run, then exit (default)
  --watch            run until SIGTERM/SIGINT: every --interval (±10 % jitter) and just
                     after the next expiry; pushes the local hook spool first. Stopping
                     never flushes a firewall.
  --interval DUR     time between runs in --watch (default: config interval, 30s). A run
                     whose tip has not moved costs one git ls-remote plus observing the
                     targets, so 1s is fine for fast propagation on small ledgers.
  --dry-run          observe and plan; change nothing (see also: fail2git plan)
  --force            apply removals the removal guard (policy maxRemovePerRun) refused
  --target NAME      only this target (repeatable)
  --plan FILE        one run applying exactly a plan saved by fail2git plan --out FILE: the
                     run must enforce the plan's commit and, per target of the plan, compute
                     the same additions and removals; a target whose plan changed since is
                     refused (PlanStale, nothing applied to it) and the exit is 1
  --json             the run status as JSON on stdout (one line per run in --watch)
${CONFIG_FLAGS_HELP}

Exit (--once): 0 every target in line, 1 a target failed, a removal was refused, the tip
is invalid or the remote unreachable (status.json says which), 2 usage error.`;

type Values = ConfigFlagValues & {
  once?: boolean; watch?: boolean; interval?: string; 'dry-run'?: boolean; force?: boolean; target?: string[]; json?: boolean; plan?: string;
};

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<Values>(argv, {
      ...CONFIG_FLAGS, once: { type: 'boolean' }, watch: { type: 'boolean' }, interval: { type: 'string' },
      'dry-run': { type: 'boolean' }, force: { type: 'boolean' }, target: { type: 'string', multiple: true }, json: { type: 'boolean' }, plan: { type: 'string' },
    }, HELP, false);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    if (v.once && v.watch) throw new UsageError('--once and --watch exclude each other');
    if (v.plan !== undefined && (v.watch || v['dry-run'])) throw new UsageError('--plan is one run that applies: not with --watch or --dry-run');
    const cfg = await resolveHostConfig(v);
    const intervalMs = interval(v.interval ?? cfg.interval);
    const log = createJsonLogger({ base: { host: cfg.host } });
    const deps: ReconcileDeps = { run: execRunner, log, now: () => new Date(), createTarget };
    const verify = await commitVerifier(cfg);
    if (verify) deps.verifyCommit = verify;
    const opts: ReconcileOptions = { dryRun: v['dry-run'] === true, force: v.force === true, ...(v.target && { targets: v.target }) };
    if (v.plan !== undefined) {
      const saved = await readSavedPlan(v.plan);
      if (saved.host !== cfg.host) throw new InputError('E_PLAN_FILE', `${v.plan}: the plan is for host ${saved.host}, this is ${cfg.host}`);
      opts.savedPlan = saved;
      // The plan's targets, unless --target narrows them further.
      opts.targets = v.target ?? Object.keys(saved.targets);
    }
    const fleetInterval = longer(cfg.interval, v.interval);
    const lock = opts.dryRun ? undefined : tryRunLock(cfg.stateDir);
    if (lock && !lock.ok) {
      err(`fail2git: another reconcile (pid ${lock.pid}) is enforcing ${cfg.stateDir}; see fail2git status`);
      return EXIT_FINDING;
    }
    const release = (): void => {
      if (lock?.ok) lock.lock.release();
    };
    process.once('exit', release);
    try {
      return await runMode(cfg, opts, deps, v, intervalMs, fleetInterval, log);
    } finally {
      release();
    }
  },
};

/** One run (exit code from its status) or the watch loop (exit 0 when stopped). */
async function runMode(cfg: HostConfig, opts: ReconcileOptions, deps: ReconcileDeps, v: Values, intervalMs: number, fleetInterval: string, log: Logger): Promise<number> {
  if (v.watch) {
    await watch(cfg, opts, deps, intervalMs, v.json === true, fleetInterval);
    return EXIT_OK;
  }
  const result = await reconcile(cfg, opts, deps);
  report(result, v.json === true, true);
  await afterEachRun(cfg, result, log, fleetInterval);
  if (result.unknownTargets.length > 0) {
    err(`fail2git: no target named ${result.unknownTargets.map((n) => JSON.stringify(n)).join(', ')} for host ${cfg.host}`);
    return EXIT_USAGE;
  }
  return result.status.ok ? EXIT_OK : EXIT_FINDING;
}

/**
 * Fleet status record and, on the policy's gcHost, gc (controller/loop/after-run.ts): after
 * enforcing, never instead of it, and never for a dry run. It does not throw.
 */
async function afterEachRun(cfg: HostConfig, result: RunResult, log: Logger, interval: string): Promise<void> {
  if (result.status.dryRun) return;
  writeGuardCache(cfg, result, log);
  await afterRunJobs(cfg, result, log, interval);
}

/**
 * The hook's refusals and fail2ban's ignorecommand read the allowlist from guard.json: a new
 * allowlist reaches them with the next run, not only with this host's next ban. Local only.
 */
function writeGuardCache(cfg: HostConfig, result: RunResult, log: Logger): void {
  if (result.status.dryRun || !result.enforced) return;
  try {
    writeGuard(cfg.stateDir, summarize(result.enforced.ledger, result.enforced.rev));
  } catch (e) {
    log.warn('guard.write-failed', { error: errorMessage(e) });
  }
}

/** The network half: fleet record and gc (each bounded by its git timeouts). */
async function afterRunJobs(cfg: HostConfig, result: RunResult, log: Logger, interval: string): Promise<void> {
  try {
    const { afterRun } = await import('../../controller/loop/after-run.js');
    await afterRun({ ...cfg, interval }, result.status, log, VERSION);
  } catch (e) {
    log.warn('after-run.failed', { error: errorMessage(e) });
  }
}

/** The fleet measures silence in intervals: report the longer of the config's and --interval. */
function longer(configured: string, flag: string | undefined): string {
  if (flag === undefined) return configured;
  try {
    return parseDuration(flag) > parseDuration(configured) ? flag : configured;
  } catch {
    return configured;
  }
}

function interval(text: string): number {
  let ms = 0;
  try {
    ms = parseDuration(text);
  } catch {
    /* said below */
  }
  if (ms < 100) throw new UsageError(`--interval ${JSON.stringify(text)} is not a duration of at least 100ms (e.g. 1s, 30s, 5m)`);
  return ms;
}

/**
 * The loop: reconcile, sleep; SIGTERM/SIGINT end it after the current run. Every network step
 * runs beside the runs, never before them (controller/loop/ledger-fetch.ts, background.ts):
 * the ledger fetch, pushing the local spool, the fleet record and gc. A run enforces what the
 * clone holds, so an expiry is applied on time even when the remote accepts connections and
 * never answers; a fetch that brings a new tip wakes the loop at once. With `wake:` a listener
 * long-polls the site mirror beside it (controller/loop/wake.ts) and wakes the loop the same way.
 */
async function watch(cfg: HostConfig, opts: ReconcileOptions, deps: ReconcileDeps, intervalMs: number, json: boolean, fleetInterval: string): Promise<void> {
  const ac = new AbortController();
  const stop = (sig: string) => () => {
    deps.log.info('watch.stop', { signal: sig });
    ac.abort();
  };
  process.once('SIGTERM', stop('SIGTERM'));
  process.once('SIGINT', stop('SIGINT'));
  deps.log.info('watch.start', { intervalMs, remote: cfg.remote, stateDir: cfg.stateDir });
  // The same warning every tick is noise: repeat it at most every 5 minutes.
  deps.log = createRepeatSuppressingLogger(deps.log, REPEAT_WINDOW_MS);
  const log = deps.log;
  const waker = new Waker();
  // The push-triggered wake-up from a site mirror (host config `wake:`), beside the loop.
  let wake: WakeListener | undefined;
  const fetch: LedgerFetch = new LedgerFetch({
    remote: cfg.remote, dir: ledgerClonePath(cfg), branch: cfg.branch, run: deps.run, intervalMs,
    onNews: () => waker.wake(),
    // A quiet large fleet polls less often (docs/scale.md); a new tip brings the interval back.
    fleetSize: () => readFleetSize(cfg.stateDir)?.hosts ?? 0,
    wakeHealthy: () => wake?.healthy ?? false,
    onResult: (r) => {
      if (r.error) log.warn('fetch.failed', { code: r.error.code, error: r.error.message, tip: r.tip });
      else if (r.fetched) log.info('fetch', { tip: r.tip });
    },
  });
  if (cfg.wake) {
    wake = new WakeListener({
      url: cfg.wake.url, auth: loadWakeAuth(cfg.wake), dir: ledgerClonePath(cfg), branch: cfg.branch, run: deps.run, log,
      onNews: () => waker.wake(),
      onDown: () => fetch.wakeDown(),
    });
    log.info('wake.start', { url: cfg.wake.url });
  }
  const listening = wake?.run(ac.signal);
  const flush = new SingleFlight((e) => log.warn('spool.flush-failed', { error: errorMessage(e) }));
  const after = new SingleFlight((e) => log.warn('after-run.failed', { error: errorMessage(e) }));
  let last: string | undefined;
  await watchLoop({
    intervalMs,
    signal: ac.signal,
    waker,
    tick: async () => {
      if (spoolHasWork(cfg)) {
        flush.start(async () => {
          // A literal specifier, so the single-file bundle (dist/fail2git.mjs) includes the flusher.
          const { flushSpool } = await import('../../hooks/flush.js');
          const r = await flushSpool(cfg);
          log.info('spool.flushed', { delivered: r.delivered ?? 0, pending: r.pending ?? 0 });
          // This host's own bans are on the remote now: fetch them back and enforce at once.
          if (r.commits.length > 0) fetch.kick(true);
        });
      }
      fetch.kick();
      // No clone yet (first start): nothing to enforce until the first fetch lands.
      if (!(await hasLocalTip(cfg, deps))) await fetch.settle(FIRST_FETCH_WAIT_MS);
      const result = await reconcile(cfg, { ...opts, quiet: true, local: { lastError: fetch.lastError } }, deps);
      // The baseline for drift accounting; a run that enforced nothing gives none.
      if (result.status.commit.applied && !opts.dryRun) deps.previousDesired = result.desired;
      else delete deps.previousDesired;
      // Quiet when nothing happens: print on change, failure, or a new reason.
      const changed = result.targets.some((t) => t.added + t.removed > 0);
      if (changed || !result.status.ok || result.status.reason !== last) report(result, json, false);
      last = result.status.reason;
      writeGuardCache(cfg, result, log);
      if (!result.status.dryRun) after.start(() => afterRunJobs(cfg, result, log, fleetInterval));
      return result.nextExpiry ? { nextExpiry: result.nextExpiry } : {};
    },
  });
  // Stopping never waits long on the network: what is unfinished is killed and retried on the
  // next start (an operation leaves the spool only after its push succeeded; a fetch from the
  // mirror is only news fetched again).
  let woke = false;
  const wakeSettle = (ms: number): Promise<boolean> => (listening ? Promise.race([listening.then(() => (woke = true)), new Promise<boolean>((r) => setTimeout(() => r(woke), ms).unref())]) : Promise.resolve(true));
  const idle = await Promise.all([flush.settle(STOP_GRACE_MS), after.settle(STOP_GRACE_MS), fetch.settle(STOP_GRACE_MS), wakeSettle(STOP_GRACE_MS)]);
  if (idle.includes(false)) {
    log.info('watch.abandon', { flush: flush.busy, afterRun: after.busy, fetch: fetch.busy, wake: !idle[3] });
    stopChildren();
    await Promise.all([flush.settle(STOP_GRACE_MS), after.settle(STOP_GRACE_MS), fetch.settle(STOP_GRACE_MS), wakeSettle(STOP_GRACE_MS)]);
  }
}

/** Waits at most this long for the very first fetch of a host without a clone. */
const FIRST_FETCH_WAIT_MS = 150_000;
/** How long a stopping loop lets background work finish. */
const STOP_GRACE_MS = 2_000;
const REPEAT_WINDOW_MS = 5 * 60_000;

async function hasLocalTip(cfg: HostConfig, deps: ReconcileDeps): Promise<boolean> {
  const { localSync } = await import('../../controller/git/clone.js');
  return (await localSync(ledgerClonePath(cfg), cfg.branch, undefined, deps.run)).tip !== undefined;
}

function spoolHasWork(cfg: HostConfig): boolean {
  const dir = spoolPath(cfg);
  if (!existsSync(dir)) return false;
  // Operations are `<id>.json`; sub-directories (set-aside bad files) are not work.
  return readdirSync(dir).some((f) => f.endsWith('.json') && !f.startsWith('.'));
}

/** Human summary (or the status JSON) on stdout. */
export function report(result: RunResult, json: boolean, pretty: boolean): void {
  const s = result.status;
  if (json) {
    out(pretty ? JSON.stringify(s, null, 2) : JSON.stringify(s));
    return;
  }
  const skipped = Object.entries(s.desired.skipped).map(([k, n]) => `${k} ${n}`).join(', ');
  out(`${s.host} @ ${short(s.commit.applied)}: ${s.reason}: ${s.message} (${s.desired.entries} desired${skipped ? `; skipped ${skipped}` : ''}; ${s.durationSeconds.toFixed(2)}s)`);
  for (const t of result.targets) {
    const what = t.error ? `${t.reason}: ${t.error}` : `${t.reason}, +${t.added} -${t.removed}, ${t.entries} entries`;
    const drift = t.drift.readded + t.drift.removed > 0 ? ` (drift: ${t.drift.readded} re-added, ${t.drift.removed} removed)` : '';
    out(`  ${t.name} (${t.driver}): ${what}${drift}`);
  }
}

async function readSavedPlan(file: string) {
  const { parseSavedPlan } = await import('../../controller/plan/saved-plan.js');
  const { readFileSync } = await import('node:fs');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError('E_PLAN_FILE', `${file}: cannot read the saved plan (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseSavedPlan(text, file);
}
