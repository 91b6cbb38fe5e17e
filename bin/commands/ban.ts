/** `fail2git ban CIDR` — a person bans a network network-wide, through the spool and flusher. */
import { EXIT_FINDING, EXIT_OK, UsageError, err, out, parseFlags, type Command } from '../cli.js';
import { configPath } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { runManual } from '../../hooks/manual.js';

const HELP = `Usage: fail2git ban CIDR [--ttl 1h | --until TIME | --permanent] [--reason TEXT] [--by NAME] [--config FILE]

Bans CIDR on every host: the ban is spooled, committed and pushed now; the commit is printed.
Without --ttl/--until/--permanent the ledger policy's defaultTtl applies. A ban of an address
already banned keeps the later expiry and counts one more offence. Allowlisted and too-broad
networks are refused (exit 1). If the remote is unreachable the ban stays queued (exit 1) and
the next flush delivers it.

  --ttl DURATION   e.g. 90m, 1h, 7d
  --until TIME     RFC 3339, e.g. 2026-12-01T00:00:00Z
  --permanent      no expiry
  --reason TEXT    one line, recorded in the ledger and the commit
  --by NAME        who (default: $SUDO_USER or $USER)`;

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ ttl?: string; until?: string; permanent?: boolean; reason?: string; by?: string; config?: string }>(
      argv,
      { ttl: { type: 'string' }, until: { type: 'string' }, permanent: { type: 'boolean' }, reason: { type: 'string' }, by: { type: 'string' }, config: { type: 'string' } },
      HELP,
    );
    if (!parsed) return EXIT_OK;
    if (parsed.positionals.length !== 1) throw new UsageError('ban needs exactly one CIDR (see fail2git ban --help)');
    const v = parsed.values;
    const cfg = await loadHostConfig(configPath(v.config), { cheap: true });
    const res = await runManual({ op: 'ban', cidr: parsed.positionals[0]!, ttl: v.ttl, until: v.until, permanent: v.permanent, reason: v.reason, by: v.by }, cfg);
    if (res.ok) out(res.line);
    else err(`fail2git: ${res.line}`);
    return res.ok ? EXIT_OK : EXIT_FINDING;
  },
};
