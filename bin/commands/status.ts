/**
 * `fail2git status`: what the last reconcile run did, from stateDir/status.json.
 */
import { EXIT_FINDING, EXIT_OK, err, out, parseFlags, type Command } from '../cli.js';
import { readStatus, statusPath, type RunStatus } from '../../controller/status/run-status.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, resolveHostConfig, short, type ConfigFlagValues } from './_reconcile.js';
import { resolve } from 'node:path';

const HELP = `Usage: fail2git status [--json] [--state-dir DIR | --config FILE]
       fail2git status --fleet [--json] [--config FILE | --remote URL ...]

The last reconcile run: when, how long, the applied commit and the tip, per target its
entries, last change, drift corrected (entries put back or taken out that the ledger did
not change: someone edited the firewall by hand) and last error.

  --json    status.json as it is (with --fleet: the fleet view)
  --fleet   every host's published status record: reason, lag behind the tip, silence
${CONFIG_FLAGS_HELP}

Exit: 0 the last run succeeded, 1 it did not (or no run was recorded), 2 usage error.
With --fleet: 1 when a host is silent or reports an error.`;

type Values = ConfigFlagValues & { json?: boolean; fleet?: boolean };

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<Values>(argv, { ...CONFIG_FLAGS, json: { type: 'boolean' }, fleet: { type: 'boolean' } }, HELP, false);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    if (v.fleet) {
      // The fleet lives beside the ledger (refs/fail2git/status/<host>; controller/fleet/remote.ts).
      const cfg = await resolveHostConfig(v);
      const { fleetStatus } = await import('../../controller/fleet/remote.js');
      const r = await fleetStatus({ remote: cfg.remote, branch: cfg.branch, stateDir: cfg.stateDir, metricsFile: cfg.metricsFile }, { json: v.json === true });
      out(r.output);
      return r.exitCode;
    }
    // status.json is all we need: --state-dir alone is enough.
    const stateDir = v['state-dir'] !== undefined && v.config === undefined ? resolve(v['state-dir']) : (await resolveHostConfig(v)).stateDir;
    const s = readStatus(stateDir);
    if (!s) {
      err(`fail2git: no reconcile run recorded in ${statusPath(stateDir)} (run fail2git reconcile first)`);
      return EXIT_FINDING;
    }
    out(v.json ? JSON.stringify(s, null, 2) : renderStatus(s, new Date()));
    return s.ok ? EXIT_OK : EXIT_FINDING;
  },
};

function ago(iso: string | undefined, now: Date): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  const text = s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
  return `${iso} (${text} ago)`;
}

export function renderStatus(s: RunStatus, now: Date): string {
  const skipped = Object.entries(s.desired.skipped).map(([k, n]) => `${k} ${n}`).join(', ');
  const lines = [
    `host          ${s.host}`,
    `last run      ${ago(s.finishedAt, now)}, ${s.durationSeconds.toFixed(2)}s${s.dryRun ? ' (dry run)' : ''}`,
    `result        ${s.ok ? 'ok' : 'NOT OK'}: ${s.reason}: ${s.message}`,
    `last success  ${ago(s.lastSuccessAt, now)}`,
    `commit        ${short(s.commit.applied)} applied; tip ${short(s.commit.tip)}${s.commit.tipProblems.length ? ` INVALID: ${s.commit.tipProblems[0]}` : ''}`,
    ...(s.guard ? [`guard         ${s.guard.forced ? 'FORCED past' : 'stricter limits of'} ${short(s.guard.limitsOf)}: ${s.guard.kept.join('; ')}`] : []),
    `remote        ${s.remote.url} ${s.remote.reachable ? '(reachable)' : `(UNREACHABLE: ${s.remote.error ?? ''})`}`,
    `desired       ${s.desired.entries} entries${skipped ? `; skipped ${skipped}` : ''}${s.desired.nextExpiry ? `; next expiry ${s.desired.nextExpiry}` : ''}`,
    `runs          ${s.runsTotal}`,
    'targets:',
  ];
  const names = Object.keys(s.targets);
  const w = Math.max(4, ...names.map((n) => n.length));
  for (const n of names) {
    const t = s.targets[n]!;
    lines.push(
      `  ${n.padEnd(w)}  ${t.driver.padEnd(13)} ${t.reason.padEnd(13)} ${String(t.entries).padStart(7)} entries  last +${t.added} -${t.removed}` +
        `  drift corrected ${t.driftCorrectedTotal}  errors ${t.errorsTotal}`,
    );
    if (t.folded) lines.push(`  ${' '.repeat(w)}  ${t.folded} folded (covered by a broader enforced entry)`);
    if (t.leftOut) lines.push(`  ${' '.repeat(w)}  FULL: ${t.leftOut} desired entries left out${t.capacity !== undefined ? ` (capacity ${t.capacity})` : ''}; the most important are enforced`);
    if (t.error) lines.push(`  ${' '.repeat(w)}  error: ${t.error}`);
    else if (t.lastError) lines.push(`  ${' '.repeat(w)}  last error ${t.lastError.at}: ${t.lastError.message}`);
  }
  if (names.length === 0) lines.push('  (none for this host)');
  return lines.join('\n');
}
