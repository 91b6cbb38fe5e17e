/** `fail2git gc`: remove expired entries from the ledger in one commit. */
import { EXIT_FINDING, EXIT_OK, UsageError, out, err, parseFlags, type Command } from '../cli.js';
import { parseDuration } from '../../controller/lib/duration.js';
import { errorMessage } from '../../controller/lib/errors.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, resolveHostConfig, type ConfigFlagValues } from './_config.js';

const HELP = `Usage: fail2git gc [--grace 1h] [--dry-run] [--json] [--config FILE | --remote URL ...]

Removes every entry whose \`expires\` passed more than the grace period ago from
bans/active.yaml at the remote tip, in one commit ("gc: expire 37 bans") with one trailer
block per entry, and pushes it. Safe to run on several hosts at once: a host that loses the
push race starts over from the new tip and finds nothing left to do.

  --grace D       keep entries this long after they expire (default: the policy's gcGrace, 1h)
  --dry-run       list what would be removed; commit nothing
  --json          the result as JSON
${CONFIG_FLAGS_HELP}

Exit: 0 done (or nothing to do), 1 the remote could not be reached or refused the push.`;

interface Flags extends ConfigFlagValues {
  grace?: string;
  'dry-run'?: boolean;
  json?: boolean;
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<Flags>(
      argv,
      {
        grace: { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        ...CONFIG_FLAGS,
      },
      HELP,
      false,
    );
    if (!parsed) return EXIT_OK;
    const f = parsed.values;
    let graceMs: number | undefined;
    try {
      if (f.grace !== undefined) graceMs = parseDuration(f.grace);
    } catch (e) {
      throw new UsageError(`--grace: ${(e as Error).message}`);
    }
    const s = await resolveHostConfig(f);
    const { runGc } = await import('../../controller/gc/run.js');
    const { writeMetricsFile } = await import('../../controller/status/metrics.js');
    const { renderGcMetrics, GC_METRICS_FILE } = await import('../../controller/gc/metrics.js');
    const now = new Date();
    // Metrics are best effort: a read-only textfile directory must not turn a done gc into a failure.
    const metrics = (text: string) => {
      try {
        writeMetricsFile(s.metricsFile, GC_METRICS_FILE, text);
      } catch (e) {
        err(`fail2git: gc: cannot write metrics next to ${s.metricsFile}: ${errorMessage(e)}`);
      }
    };
    try {
      const result = await runGc({ ...s, dryRun: f['dry-run'] === true, ...(graceMs === undefined ? {} : { graceMs }), now: () => now });
      if (!result.dryRun) metrics(renderGcMetrics(result, now));
      out(f.json ? JSON.stringify(result, null, 2) : describe(result));
      if (result.unreadable > 0) err(`fail2git: gc kept ${result.unreadable} entries whose expiry it could not read (run fail2git validate)`);
      return EXIT_OK;
    } catch (e) {
      if (!f['dry-run']) metrics(renderGcMetrics(null, now, false));
      err(`fail2git: gc: ${errorMessage(e)}`);
      return EXIT_FINDING;
    }
  },
};

function describe(r: import('../../controller/gc/run.js').GcResult): string {
  const tip = r.tip.slice(0, 12);
  if (r.dryRun) {
    const lines = r.expired.map((e) => `- ${e.cidr} (expired ${e.expires})`);
    return [...lines, `gc (dry run): would expire ${bans(r.expired.length)} at ${tip} (grace ${r.grace})`].join('\n');
  }
  if (!r.commit) return `gc: nothing to collect at ${tip} (grace ${r.grace})`;
  return `gc: expired ${bans(r.expired.length)} in ${r.commit.slice(0, 12)} (grace ${r.grace}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'})`;
}

function bans(n: number): string {
  return `${n} ban${n === 1 ? '' : 's'}`;
}
