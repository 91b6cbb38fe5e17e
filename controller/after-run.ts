/**
 * What a reconciler does after each run, besides enforcing: publish its fleet status record
 * and, on the policy's `gcHost`, collect expired ledger lines. One call for the reconcile
 * loop to make; it never throws, because neither job may fail or delay enforcement. Each
 * outcome is one log line, and gc's figures go to its own metrics textfile.
 */
import { errorMessage } from './errors.js';
import { publishHostStatus, recordFromRun } from './fleet.js';
import { maybeRunGc, type GcResult } from './gc-run.js';
import { GC_METRICS_FILE, renderGcMetrics, writeMetricsFile } from './metrics-gc.js';
import type { Ledger } from './ledger/types.js';
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
 * Call once per reconcile run, after status.json is written, with the ledger that run
 * enforced (undefined when none was loaded). `software` is the fail2git version.
 */
export async function afterRun(
  cfg: AfterRunConfig,
  status: RunStatus,
  ledger: Pick<Ledger, 'bans' | 'policy'> | undefined,
  log: Logger,
  software: string,
  now: Date = new Date(),
): Promise<AfterRunResult> {
  const result: AfterRunResult = { published: false, gc: null };
  try {
    const record = recordFromRun(status, software, cfg.interval);
    const p = await publishHostStatus({ remote: cfg.remote, branch: cfg.branch, stateDir: cfg.stateDir }, record, now);
    result.published = p.published;
    if (p.published) log.info('fleet.published', { ref: p.ref, commit: p.commit });
  } catch (err) {
    log.warn('fleet.publish-failed', { error: errorMessage(err) });
  }
  if (!ledger || status.dryRun) return result;
  try {
    result.gc = await maybeRunGc(cfg, ledger, now);
    if (result.gc) {
      writeMetricsFile(cfg.metricsFile, GC_METRICS_FILE, renderGcMetrics(result.gc, now));
      log.info('gc', { commit: result.gc.commit, expired: result.gc.expired.length, attempts: result.gc.attempts });
    }
  } catch (err) {
    writeMetricsFile(cfg.metricsFile, GC_METRICS_FILE, renderGcMetrics(null, now, false));
    log.warn('gc.failed', { error: errorMessage(err) });
  }
  return result;
}
