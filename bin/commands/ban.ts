/** `fail2git ban CIDR|--from-file FILE` — a person bans networks network-wide, through the spool and flusher. */
import { EXIT_FINDING, EXIT_OK, UsageError, err, out, parseFlags, type Command } from '../cli.js';
import { configPath } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { runManual, runManualBatch, type ManualRequest } from '../../hooks/manual.js';
import { blastRadius, readBlocklist, sample } from './_bulk.js';

const HELP = `Usage: fail2git ban CIDR [--ttl 1h | --until TIME | --permanent] [--reason TEXT] [--by NAME] [--config FILE]
       fail2git ban --from-file FILE [--dry-run] [--ttl …] [--reason TEXT] [--by NAME] [--config FILE]

Bans CIDR on every host: the ban is spooled, committed and pushed now; the commit is printed.
Without --ttl/--until/--permanent the ledger policy's defaultTtl applies. A ban of an address
already banned keeps the later expiry and counts one more offence. Allowlisted and too-broad
networks are refused (exit 1). If the remote is unreachable the ban stays queued (exit 1) and
the next flush delivers it.

  --ttl DURATION   e.g. 90m, 1h, 7d
  --until TIME     RFC 3339, e.g. 2026-12-01T00:00:00Z
  --permanent      no expiry
  --reason TEXT    one line, recorded in the ledger and the commit
  --by NAME        who (default: $SUDO_USER or $USER)
  --from-file FILE a blocklist (- for stdin): one address or CIDR per line, comments after #
                   or ; (Spamhaus DROP, FireHOL). Every line must be one; a bad line bans
                   nothing (file:line). The blast radius is printed, then all go in one commit;
                   allowlisted and too-broad ones are refused and the rest still go.
  --dry-run        with --from-file: print what would be banned, change nothing`;

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ ttl?: string; until?: string; permanent?: boolean; reason?: string; by?: string; config?: string; 'from-file'?: string; 'dry-run'?: boolean }>(
      argv,
      {
        ttl: { type: 'string' }, until: { type: 'string' }, permanent: { type: 'boolean' }, reason: { type: 'string' }, by: { type: 'string' },
        config: { type: 'string' }, 'from-file': { type: 'string' }, 'dry-run': { type: 'boolean' },
      },
      HELP,
    );
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    const fromFile = v['from-file'];
    if (fromFile === undefined && v['dry-run']) throw new UsageError('--dry-run goes with --from-file');
    if (fromFile !== undefined ? parsed.positionals.length !== 0 : parsed.positionals.length !== 1) {
      throw new UsageError('ban needs exactly one CIDR, or --from-file FILE (see fail2git ban --help)');
    }
    const base = { ttl: v.ttl, until: v.until, permanent: v.permanent, reason: v.reason, by: v.by };
    if (fromFile === undefined) {
      const cfg = await loadHostConfig(configPath(v.config), { cheap: true });
      const res = await runManual({ op: 'ban', cidr: parsed.positionals[0]!, ...base }, cfg);
      if (res.ok) out(res.line);
      else err(`fail2git: ${res.line}`);
      return res.ok ? EXIT_OK : EXIT_FINDING;
    }
    const cidrs = readBlocklist(fromFile);
    out(`ban ${blastRadius(cidrs)} from ${fromFile}: ${sample(cidrs)}`);
    if (v['dry-run']) return EXIT_OK;
    const cfg = await loadHostConfig(configPath(v.config), { cheap: true });
    const reqs: ManualRequest[] = cidrs.map((cidr) => ({ op: 'ban', cidr, ...base }));
    const res = await runManualBatch(reqs, cfg);
    for (const line of res.lines) err(`fail2git: ${line}`);
    out(`banned ${res.delivered}, unchanged ${res.unchanged}, refused ${res.refused}${res.commits.length ? `: pushed ${res.commits.map((c) => c.slice(0, 12)).join(', ')}` : ''}`);
    return res.ok && res.refused === 0 ? EXIT_OK : EXIT_FINDING;
  },
};
