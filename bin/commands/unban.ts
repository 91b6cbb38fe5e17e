/** `fail2git unban CIDR` — a person lifts a ban network-wide, through the spool and flusher. */
import { EXIT_FINDING, EXIT_OK, UsageError, err, out, parseFlags, type Command } from '../cli.js';
import { configPath } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { runManual } from '../../hooks/manual.js';

const HELP = `Usage: fail2git unban CIDR [--reason TEXT] [--by NAME] [--config FILE]

Removes the ban on CIDR (exactly that entry) from the ledger; every reconciler lifts it.
The unban is spooled, committed and pushed now; the commit is printed. Unbanning an address
that is not banned is not an error (nothing is committed). If the remote is unreachable the
unban stays queued (exit 1) and the next flush delivers it.`;

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ reason?: string; by?: string; config?: string }>(
      argv,
      { reason: { type: 'string' }, by: { type: 'string' }, config: { type: 'string' } },
      HELP,
    );
    if (!parsed) return EXIT_OK;
    if (parsed.positionals.length !== 1) throw new UsageError('unban needs exactly one CIDR (see fail2git unban --help)');
    const v = parsed.values;
    const cfg = await loadHostConfig(configPath(v.config), { cheap: true });
    const res = await runManual({ op: 'unban', cidr: parsed.positionals[0]!, reason: v.reason, by: v.by }, cfg);
    if (res.ok) out(res.line);
    else err(`fail2git: ${res.line}`);
    return res.ok ? EXIT_OK : EXIT_FINDING;
  },
};
