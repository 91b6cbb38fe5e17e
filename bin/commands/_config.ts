/**
 * The host config as commands that run against a ledger remote take it: a file (`--config`,
 * or the default path), or flags alone (`--remote URL --host NAME --state-dir DIR`, for
 * demos, tests and hosts without a config file); flags also override a config file.
 * Shared by reconcile, plan, status and gc.
 */
import { resolve } from 'node:path';
import { configPath, defaultMetricsFile, type HostConfig } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { validateHostConfig } from '../../controller/config/validate.js';

export const CONFIG_FLAGS = {
  config: { type: 'string' },
  remote: { type: 'string' },
  host: { type: 'string' },
  'state-dir': { type: 'string' },
  branch: { type: 'string' },
  'metrics-file': { type: 'string' },
} as const;

export const CONFIG_FLAGS_HELP = `  --config FILE        host config (default $FAIL2GIT_CONFIG or /etc/fail2git/config.yaml)
  --remote URL         the ledger remote; without --config, run from flags alone
  --host NAME          this host's name for target selection (default: config, else hostname)
  --state-dir DIR      clone, status.json, last good commit (default: config, else /var/lib/fail2git)
  --branch NAME        ledger branch (default main)
  --metrics-file FILE  Prometheus textfile (default <state-dir>/fail2git.prom)`;

export interface ConfigFlagValues {
  config?: string;
  remote?: string;
  host?: string;
  'state-dir'?: string;
  branch?: string;
  'metrics-file'?: string;
}

/** The host config: a file (`--config`, or the default path when no --remote is given), then flags on top. */
export async function resolveHostConfig(v: ConfigFlagValues): Promise<HostConfig> {
  if (v.remote !== undefined && v.config === undefined) {
    const raw: Record<string, unknown> = { remote: v.remote };
    if (v.host !== undefined) raw.host = v.host;
    if (v.branch !== undefined) raw.branch = v.branch;
    if (v['state-dir'] !== undefined) raw.stateDir = resolve(v['state-dir']);
    if (v['metrics-file'] !== undefined) raw.metricsFile = resolve(v['metrics-file']);
    return validateHostConfig(raw, '(command-line flags)');
  }
  const cfg = await loadHostConfig(configPath(v.config));
  const defaultMetrics = cfg.metricsFile === defaultMetricsFile(cfg);
  if (v.remote !== undefined) cfg.remote = v.remote;
  if (v.host !== undefined) cfg.host = v.host;
  if (v.branch !== undefined) cfg.branch = v.branch;
  if (v['state-dir'] !== undefined) cfg.stateDir = resolve(v['state-dir']);
  if (v['metrics-file'] !== undefined) cfg.metricsFile = resolve(v['metrics-file']);
  else if (defaultMetrics) cfg.metricsFile = defaultMetricsFile(cfg);
  const { path, ...settings } = cfg;
  return validateHostConfig(settings, path);
}
