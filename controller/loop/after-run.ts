/**
 * What a reconciler does after each run, besides enforcing: publish its fleet status record
 * and, on the policy's `gcHost`, collect expired ledger lines. One call for the reconcile
 * loop to make; it never throws, because neither job may fail or delay enforcement. Each
 * outcome is one log line, and gc's figures go to its own metrics textfile.
 */
import { errorMessage } from '../lib/errors.js';
import { readLedgerSnapshot } from '../reconcile/last-good.js';
import { publishHostStatus, recordFromRun } from '../fleet/remote.js';
import type { GcResult } from '../gc/run.js';
import type { Ledger } from '../ledger/types.js';
import type { Logger } from '../targets/types.js';
import type { RunStatus } from '../status/run-status.js';

export interface AfterRunConfig {
  host: string;
  remote: string;
  branch: string;
  stateDir: string;
  interval: string;
  metricsFile: string;
  signingKey?: string | undefined;
  /** false: never push the fleet status record (a host with read-only access to the remote) */
  publishStatus?: boolean;
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
  // publishStatus: false (a host with read-only access): nothing is pushed; the fleet view
  // shows the host as silent.
  if (cfg.publishStatus !== false) {
    try {
      const record = recordFromRun(status, software, cfg.interval);
      const p = await publishHostStatus({ remote: cfg.remote, branch: cfg.branch, stateDir: cfg.stateDir }, record, now);
      result.published = p.published;
      if (p.published) log.info('fleet.published', { ref: p.ref, commit: p.commit });
    } catch (err) {
      log.warn('fleet.publish-failed', { error: errorMessage(err) });
    }
  }
  if (status.dryRun) return result;
  try {
    const ledger = opts.ledger ?? enforcedLedgerIfGcHost(cfg, status.commit.applied);
    if (!ledger) return result;
    // gc's modules (the writer, YAML) load only here: most hosts never run gc.
    const { maybeRunGc } = await import('../gc/run.js');
    result.gc = await maybeRunGc(cfg, ledger, now);
    if (result.gc) {
      const { renderGcMetrics } = await import('../gc/metrics.js');
      await writeGcMetrics(cfg, renderGcMetrics(result.gc, now), log);
      log.info('gc', { commit: result.gc.commit, expired: result.gc.expired.length, attempts: result.gc.attempts });
    }
  } catch (err) {
    log.warn('gc.failed', { error: errorMessage(err) });
    const { renderGcMetrics } = await import('../gc/metrics.js');
    await writeGcMetrics(cfg, renderGcMetrics(null, now, false), log);
  }
  return result;
}

async function writeGcMetrics(cfg: AfterRunConfig, text: string, log: Logger): Promise<void> {
  const { writeMetricsFile } = await import('../status/metrics.js');
  const { GC_METRICS_FILE } = await import('../gc/metrics.js');
  try {
    writeMetricsFile(cfg.metricsFile, GC_METRICS_FILE, text);
  } catch (err) {
    log.warn('gc.metrics-failed', { error: errorMessage(err) });
  }
}

/**
 * The enforced ledger, but only on the gcHost: the reconciler keeps a snapshot of the last
 * good commit's ledger exactly when that commit's policy names this host (reconcile-ledger.ts
 * snapshotFor), so a snapshot for `applied` naming us is the whole test, with no git or YAML.
 */
function enforcedLedgerIfGcHost(cfg: AfterRunConfig, applied: string | undefined): Ledger | undefined {
  if (!applied) return undefined;
  const ledger = readLedgerSnapshot(cfg.stateDir, applied);
  return ledger?.policy.gcHost === cfg.host ? ledger : undefined;
}
