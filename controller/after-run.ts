/**
 * What a reconciler does after each run, besides enforcing: publish its fleet status record
 * and, on the policy's `gcHost`, collect expired ledger lines. One call for the reconcile
 * loop to make; it never throws, because neither job may fail or delay enforcement. Each
 * outcome is one log line, and gc's figures go to its own metrics textfile.
 */
import { parse } from 'yaml';
import { errorMessage } from './errors.js';
import { execRunner } from './targets/utils/exec.js';
import { ledgerClonePath } from './config.js';
import { readLedgerSnapshot } from './last-good.js';
import { publishHostStatus, recordFromRun } from './fleet.js';
import { maybeRunGc, type GcResult } from './gc-run.js';
import { GC_METRICS_FILE, renderGcMetrics, writeMetricsFile } from './metrics-gc.js';
import { LEDGER_FILES, type Ledger } from './ledger/types.js';
import type { Logger } from './targets/types.js';
import type { RunStatus } from './status.js';

export interface AfterRunConfig {
  host: string;
  remote: string;
  branch: string;
  stateDir: string;
  interval: string;
  metricsFile: string;
  signingKey?: string | undefined;
}

export interface AfterRunResult {
  published: boolean;
  gc: GcResult | null;
}

/**
 * Call once per reconcile run, after status.json is written. `ledger` is the ledger that run
 * enforced; when omitted it is read from the last-good snapshot, and only on the gcHost (a
 * look at the small policy file decides), so other hosts pay one `git show` per run.
 */
export async function afterRun(
  cfg: AfterRunConfig,
  status: RunStatus,
  log: Logger,
  software: string,
  opts: { ledger?: Pick<Ledger, 'bans' | 'policy'>; now?: Date } = {},
): Promise<AfterRunResult> {
  const now = opts.now ?? new Date();
  const result: AfterRunResult = { published: false, gc: null };
  try {
    const record = recordFromRun(status, software, cfg.interval);
    const p = await publishHostStatus({ remote: cfg.remote, branch: cfg.branch, stateDir: cfg.stateDir }, record, now);
    result.published = p.published;
    if (p.published) log.info('fleet.published', { ref: p.ref, commit: p.commit });
  } catch (err) {
    log.warn('fleet.publish-failed', { error: errorMessage(err) });
  }
  if (status.dryRun) return result;
  try {
    const ledger = opts.ledger ?? (await enforcedLedgerIfGcHost(cfg, status.commit.applied));
    if (!ledger) return result;
    result.gc = await maybeRunGc(cfg, ledger, now);
    if (result.gc) {
      writeGcMetrics(cfg, renderGcMetrics(result.gc, now), log);
      log.info('gc', { commit: result.gc.commit, expired: result.gc.expired.length, attempts: result.gc.attempts });
    }
  } catch (err) {
    log.warn('gc.failed', { error: errorMessage(err) });
    writeGcMetrics(cfg, renderGcMetrics(null, now, false), log);
  }
  return result;
}

function writeGcMetrics(cfg: AfterRunConfig, text: string, log: Logger): void {
  try {
    writeMetricsFile(cfg.metricsFile, GC_METRICS_FILE, text);
  } catch (err) {
    log.warn('gc.metrics-failed', { error: errorMessage(err) });
  }
}

/** The enforced ledger from the last-good snapshot, but only when its policy names this host. */
async function enforcedLedgerIfGcHost(cfg: AfterRunConfig, applied: string | undefined): Promise<Ledger | undefined> {
  if (!applied) return undefined;
  const { stdout } = await execRunner('git', ['-C', ledgerClonePath(cfg), 'show', `${applied}:${LEDGER_FILES.policy}`]).catch(() => ({ stdout: '' }));
  let gcHost: unknown;
  try {
    gcHost = (parse(stdout) as { spec?: { gcHost?: unknown } } | null)?.spec?.gcHost;
  } catch {
    return undefined; // the reconciler reports a broken policy; gc just does not run
  }
  return gcHost === cfg.host ? readLedgerSnapshot(cfg.stateDir, applied) : undefined;
}
