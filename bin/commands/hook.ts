/**
 * `fail2git hook ban|unban|prolong|flush` — what fail2ban's action file calls.
 * Kept light on imports: this runs on fail2ban's critical path.
 */
import { EXIT_FINDING, EXIT_OK, err, out, parseFlags, type Command } from '../cli.js';
import { allowEntryFor, parseHookArgs, runHook, spawnWatcher, watcherRunning, watcherStarting } from '../../hooks/fail2ban-commit.js';
import { configPath } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { readGuard } from '../../hooks/guard-cache.js';
import { flushLockPath } from '../../controller/lib/lock.js';

const HELP = `Usage: fail2git hook ban|unban|prolong --jail NAME --ip IP --bantime SECONDS --time EPOCH
                    [--restored 0|1] [--bancount N] [--failures N] [--config FILE]
       fail2git hook flush [--config FILE]
       fail2git hook ignore --ip IP [--config FILE]

The fail2ban action entry point (hooks/fail2ban/fail2git.conf passes fail2ban's tags).
Validates the call, writes the operation durably into the local spool, starts a background
flusher and returns; the flusher commits and pushes. \`hook flush\` only starts a flusher for
anything still pending: it never unbans.

  ban       upsert: later expiry wins, count +1, TTL escalated by the ledger's policy
  unban     network-wide unban; a no-op when time + bantime has passed (the TTL governs)
  prolong   extend the expiry (fail2ban bantime.increment)
  ignore    fail2ban's ignorecommand: exit 0 when the ledger's allowlist (stateDir/guard.json)
            holds IP (fail2ban then ignores it, so no local action bans it), 1 otherwise

Restored bans (--restored 1, at fail2ban start) are not committed. Allowlisted, too-broad
and special addresses are refused: one line, exit 0 (a refusal is not a failure for fail2ban
to retry), kept in spool/refused/ with the reason. Bad input: one line, exit 1 or 2, nothing
spooled.
Config: --config FILE, else $FAIL2GIT_CONFIG, else /etc/fail2git/config.yaml.`;

const OPTIONS = {
  jail: { type: 'string' },
  ip: { type: 'string' },
  bantime: { type: 'string' },
  time: { type: 'string' },
  restored: { type: 'string' },
  bancount: { type: 'string' },
  failures: { type: 'string' },
  config: { type: 'string' },
} as const;

/**
 * `--bantime -1` as a person types it: node's parser reads `-1` as a flag ("argument is
 * ambiguous"), so a negative number after a value flag is joined to it (`--bantime=-1`).
 */
export function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2) : '';
    const next = argv[i + 1];
    if (name in OPTIONS && next !== undefined && /^-[0-9.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * `hook ignore`: fail2ban's success codes for an ignorecommand are 0 (ignore) and 1 (do not);
 * anything else is logged as an error. So every outcome here is 0 or 1: an unknown
 * allowlist (no guard.json yet) means "do not ignore", with one line saying why.
 */
async function ignore(values: Record<string, string | undefined>): Promise<number> {
  if (values.ip === undefined || values.ip === '') {
    err('fail2git: hook ignore: --ip is required');
    return EXIT_FINDING;
  }
  const cfg = await loadHostConfig(configPath(values.config), { cheap: true });
  const guard = readGuard(cfg.stateDir);
  const entry = allowEntryFor(values.ip, guard);
  if (entry) {
    out(`fail2git: ${values.ip} is allowlisted (${entry.key})`);
    return EXIT_OK;
  }
  if (!guard.fromLedger) err(`fail2git: no allowlist cached in ${cfg.stateDir}/guard.json yet (run fail2git flush once); ${values.ip} not ignored`);
  return EXIT_FINDING;
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<Record<string, string | undefined>>(joinNegativeValues(argv), OPTIONS, HELP);
    if (!parsed) return EXIT_OK;
    const [action, ...extra] = parsed.positionals;
    if (extra.length > 0) {
      err(`fail2git: hook: unexpected argument ${JSON.stringify(extra[0])}`);
      return 2;
    }
    if (action === 'flush') {
      const cfg = await loadHostConfig(configPath(parsed.values.config), { cheap: true });
      // Jail start: a resident flusher delivers what waits and whatever the action line spools next.
      if (!watcherRunning(cfg.stateDir) && !watcherStarting(cfg.stateDir)) await spawnWatcher(cfg);
      return EXIT_OK;
    }
    if (action === 'ignore') return ignore(parsed.values);
    // Validate before reading anything: garbage input never reaches the spool.
    const args = parseHookArgs(action, parsed.values);
    const cfg = await loadHostConfig(configPath(parsed.values.config), { cheap: true });
    const decision = await runHook(args, cfg, readGuard(cfg.stateDir), flushLockPath(cfg.stateDir));
    if (decision.kind === 'refuse') {
      // Exit 0: fail2ban runs a failing action twice and logs each run as an ERROR.
      err(`fail2git: ${decision.why}`);
      return EXIT_OK;
    }
    if (decision.kind === 'skip') err(`fail2git: ${decision.why}`);
    return EXIT_OK;
  },
};
