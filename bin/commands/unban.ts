/** `fail2git unban CIDR|--jail|--by|--reason|--from-file` — a person lifts bans network-wide, through the spool and flusher. */
import { EXIT_FINDING, EXIT_OK, UsageError, err, out, parseFlags, type Command } from '../cli.js';
import { configPath } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { InputError } from '../../controller/lib/errors.js';
import { filterGiven, type BanFilter } from '../../controller/ledger/select.js';
import { runManual, runManualBatch, type ManualRequest } from '../../hooks/manual.js';
import { blastRadius, readBlocklist, sample, selectAtTip } from './_bulk.js';

const HELP = `Usage: fail2git unban CIDR [--reason TEXT] [--by NAME] [--config FILE]
       fail2git unban [--jail NAME] [--by NAME] [--reason TEXT] [--from-file FILE]
                      [--dry-run] [--force] [--as NAME] [--config FILE]

Removes the ban on CIDR (exactly that entry) from the ledger; every reconciler lifts it.
The unban is spooled, committed and pushed now; the commit is printed. Unbanning an address
that is not banned is not an error (nothing is committed). If the remote is unreachable the
unban stays queued (exit 1) and the next flush delivers it.

  --reason TEXT      why (recorded in the commit)
  --by NAME          who (default: $SUDO_USER or $USER)

Bulk: without CIDR, select bans in the ledger at the remote tip; every criterion given must
match. The blast radius is printed first, then all go in one commit.
  --jail NAME        bans made by that fail2ban jail
  --by NAME          bans whose "by" is NAME (a host or a person); also --banned-by
  --reason TEXT      bans whose reason contains TEXT (case-insensitive); also --matching
  --from-file FILE   bans of the networks listed in FILE (one per line, as ban --from-file)
  --dry-run          print what would be unbanned, change nothing
  --force            go above the ledger's removal guard (maxRemovePerRun), which enforcing
                     hosts would otherwise hold; without it such an unban spools nothing
  --as NAME          who unbans (default: $SUDO_USER or $USER)`;

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ reason?: string; by?: string; config?: string; jail?: string; 'banned-by'?: string; matching?: string; 'from-file'?: string; 'dry-run'?: boolean; force?: boolean; as?: string }>(
      argv,
      {
        reason: { type: 'string' }, by: { type: 'string' }, config: { type: 'string' }, jail: { type: 'string' }, 'banned-by': { type: 'string' },
        matching: { type: 'string' }, 'from-file': { type: 'string' }, 'dry-run': { type: 'boolean' }, force: { type: 'boolean' }, as: { type: 'string' },
      },
      HELP,
    );
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    // With a CIDR, --by and --reason say who and why; without one they select (as cscli's filters).
    const single = parsed.positionals.length > 0;
    const filter: BanFilter = {
      jail: v.jail, by: v['banned-by'] ?? (single ? undefined : v.by), reason: v.matching ?? (single ? undefined : v.reason),
      cidrs: v['from-file'] !== undefined ? new Set(readBlocklist(v['from-file'])) : undefined,
    };
    const bulk = filterGiven(filter);
    if (single && bulk) throw new UsageError('give one CIDR or a selection (--jail, --by, --reason, --from-file), not both');
    if (!single && !bulk) throw new UsageError('unban needs exactly one CIDR, or a selection (--jail, --by, --reason, --from-file; see fail2git unban --help)');
    if (parsed.positionals.length > 1) throw new UsageError('unban takes one CIDR; for many use --from-file');
    if (!bulk && (v['dry-run'] || v.force || v.as !== undefined)) throw new UsageError('--dry-run, --force and --as go with a bulk selection');
    const cfg = await loadHostConfig(configPath(v.config), { cheap: true });
    if (!bulk) {
      const res = await runManual({ op: 'unban', cidr: parsed.positionals[0]!, reason: v.reason, by: v.by }, cfg);
      if (res.ok) out(res.line);
      else err(`fail2git: ${res.line}`);
      return res.ok ? EXIT_OK : EXIT_FINDING;
    }
    const sel = await selectAtTip(cfg, filter);
    const cidrs = sel.selected.map((b) => b.cidr);
    if (cidrs.length === 0) {
      out(`no ban at ${sel.tip.slice(0, 12)} matches; nothing to do`);
      return EXIT_OK;
    }
    out(`unban ${blastRadius(cidrs)} of ${sel.held} bans at ${sel.tip.slice(0, 12)}: ${sample(cidrs)}`);
    if (sel.limit !== undefined && cidrs.length > sel.limit && !v.force) {
      throw new InputError('E_BULK_GUARD', `refusing to unban ${cidrs.length} of ${sel.held} bans at once: the ledger's maxRemovePerRun ${sel.limitText} allows ${sel.limit}, and enforcing hosts would hold the rest; narrow the selection or pass --force (and run reconcile --force on the hosts)`);
    }
    if (v['dry-run']) return EXIT_OK;
    const what = [v.jail && `jail ${v.jail}`, filter.by && `by ${filter.by}`, filter.reason && `reason ~ ${filter.reason}`, v['from-file'] && `listed in ${v['from-file']}`].filter(Boolean).join(', ');
    const reqs: ManualRequest[] = cidrs.map((cidr) => ({ op: 'unban', cidr, reason: `bulk unban (${what})`.slice(0, 200), by: v.as }));
    const res = await runManualBatch(reqs, cfg);
    for (const line of res.lines) err(`fail2git: ${line}`);
    out(`unbanned ${res.delivered}, unchanged ${res.unchanged}${res.commits.length ? `: pushed ${res.commits.map((c) => c.slice(0, 12)).join(', ')}` : ''}`);
    return res.ok ? EXIT_OK : EXIT_FINDING;
  },
};
