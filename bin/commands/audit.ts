/** `fail2git audit ADDRESS|CIDR`: the life of an address in the ledger's git history. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_OK, UsageError, err, out, parseFlags, type Command } from '../cli.js';
import { parseTime } from '../../controller/lib/duration.js';
import { configPath, ledgerClonePath } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { InputError, errorMessage } from '../../controller/lib/errors.js';
import { redact } from '../../controller/lib/redact.js';
import { execRunner } from '../../controller/lib/exec.js';

const HELP = `Usage: fail2git audit ADDRESS|CIDR [--json] [--since TIME] [--ledger DIR] [--rev REV] [--no-deepen]
                      [--hosts [--config FILE]]

The life of an address in the ledger's history, oldest first: banned (host, jail, TTL,
count), extended, unbanned (fail2ban or manual), expired and collected by gc, edited by hand
(commits without fail2git trailers, e.g. a merged pull request), and bans that cover it
(203.0.113.7 is covered by 203.0.113.0/24). Each line: time, action, what, actor, details, commit.

  --json          the report as JSON
  --since TIME    only events at or after TIME (RFC 3339)
  --ledger DIR    the ledger repository (default: the current directory if it holds bans/,
                  else the host's clone from --config; a host without one, such as a
                  fail2ban-only host, fetches it first, or reads the writer's repository
                  when the remote cannot be reached, and says so)
  --rev REV       audit up to this commit (default HEAD)
  --no-deepen     on a shallow clone, do not fetch missing history (say it is missing)
  --hosts         receipts: for each host of the fleet (its status record on the ledger
                  remote), whether it enforces the address's ban (or its lifting) yet, and
                  since when (as fail2git serve observed it; else "<= its last run")
  --config FILE   host config (for the default ledger clone, and the remote for --hosts)`;

interface Flags {
  json?: boolean;
  since?: string;
  ledger?: string;
  rev?: string;
  'no-deepen'?: boolean;
  hosts?: boolean;
  config?: string;
}

/** A commit `rev` resolves to in `dir`, or undefined (no repository, no such ref). */
async function commitAt(dir: string, rev: string): Promise<string | undefined> {
  if (!existsSync(dir)) return undefined;
  const r = await execRunner('git', ['-C', dir, 'rev-parse', '--verify', '-q', `${rev}^{commit}`]).catch(() => undefined);
  return r?.stdout.trim() || undefined;
}

/**
 * The repository to read: --ledger, the current directory when it holds bans/, else this
 * host's ledger clone. A host that never reconciled (a fail2ban-only host) has none: then
 * audit fetches one from the remote, or, when the remote cannot be reached, reads the
 * writer's repository (the tip of its last flush); it says which on stderr.
 */
async function ledgerDir(flags: Flags): Promise<{ dir: string; rev?: string }> {
  if (flags.ledger) return { dir: flags.ledger };
  if (existsSync(join(process.cwd(), 'bans'))) return { dir: process.cwd() };
  const cfg = await loadHostConfig(configPath(flags.config));
  const clone = ledgerClonePath(cfg);
  if (await commitAt(clone, 'HEAD')) return { dir: clone };
  const { syncClone } = await import('../../controller/git/clone.js');
  const synced = await syncClone(cfg.remote, clone, cfg.branch);
  if (!synced.error && synced.tip && (await commitAt(clone, 'HEAD'))) {
    err(`fail2git: audit: this host had no ledger clone; fetched ${redact(cfg.remote)} into ${clone}`);
    return { dir: clone };
  }
  const why = synced.error ? errorMessage(synced.error) : `the remote has no branch "${cfg.branch}"`;
  const { writerRepo } = await import('../../hooks/flush.js');
  const { TIP_REF } = await import('../../controller/git/commit.js');
  const writer = writerRepo(cfg).dir;
  if (await commitAt(writer, TIP_REF)) {
    err(`fail2git: audit: cannot fetch the ledger (${why}); reading the writer's repository ${writer} as of its last flush`);
    return { dir: writer, rev: TIP_REF };
  }
  throw new InputError('E_AUDIT_REPO', `audit: no ledger on this host (no clone at ${clone}, no writer repository) and the remote cannot be fetched: ${why}`);
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<Flags>(
      argv,
      {
        json: { type: 'boolean' },
        since: { type: 'string' },
        ledger: { type: 'string' },
        rev: { type: 'string' },
        'no-deepen': { type: 'boolean' },
        hosts: { type: 'boolean' },
        config: { type: 'string' },
      },
      HELP,
    );
    if (!parsed) return EXIT_OK;
    const [query, ...extra] = parsed.positionals;
    if (query === undefined || extra.length > 0) throw new UsageError('audit needs exactly one ADDRESS or CIDR');
    const flags = parsed.values;
    let since: Date | undefined;
    try {
      if (flags.since !== undefined) since = parseTime(flags.since);
    } catch (err) {
      throw new UsageError(`--since: ${(err as Error).message}`);
    }
    const { auditAddress } = await import('../../controller/audit/history.js');
    const { renderAuditJson, renderAuditText } = await import('../../controller/audit/render.js');
    const repo = await ledgerDir(flags);
    const rev = flags.rev ?? repo.rev;
    const report = await auditAddress(query, {
      repoDir: repo.dir,
      ...(rev ? { rev } : {}),
      ...(since ? { since } : {}),
      deepen: !flags['no-deepen'],
    });
    if (!flags.hosts) {
      out(flags.json ? renderAuditJson(report) : renderAuditText(report, new Date()));
      return EXIT_OK;
    }
    const now = new Date();
    const cfg = await loadHostConfig(configPath(flags.config));
    const { readFleet, ancestryIn } = await import('../../controller/fleet/remote.js');
    const { readObserved } = await import('../../controller/fleet/observed.js');
    const { receiptsFor, renderReceiptsText } = await import('../../controller/fleet/receipts.js');
    const view = await readFleet({ remote: cfg.remote, branch: cfg.branch, stateDir: cfg.stateDir }, now);
    const receipts = await receiptsFor(report, view.hosts, readObserved(cfg.stateDir), ancestryIn(cfg.stateDir), now);
    if (flags.json) out(JSON.stringify({ ...JSON.parse(renderAuditJson(report)) as object, receipts }, null, 2));
    else out(`${renderAuditText(report, now)}\n\n${renderReceiptsText(receipts)}`);
    return EXIT_OK;
  },
};
