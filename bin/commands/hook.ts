/**
 * `fail2git hook ban|unban|prolong|flush` — what fail2ban's action file calls.
 * Kept light on imports: this runs on fail2ban's critical path.
 */
import { EXIT_FINDING, EXIT_OK, err, parseFlags, type Command } from '../cli.js';
import { parseHookArgs, runHook, flusherRunning, spawnFlusher } from '../../hooks/fail2ban-commit.js';
import { configPath } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { readGuard } from '../../hooks/guard-cache.js';
import { flushLockPath } from '../../controller/lib/lock.js';

const HELP = `Usage: fail2git hook ban|unban|prolong --jail NAME --ip IP --bantime SECONDS --time EPOCH
                    [--restored 0|1] [--bancount N] [--failures N] [--config FILE]
       fail2git hook flush [--config FILE]

The fail2ban action entry point (hooks/fail2ban/fail2git.conf passes fail2ban's tags).
Validates the call, writes the operation durably into the local spool, starts a background
flusher and returns; the flusher commits and pushes. \`hook flush\` only starts a flusher for
anything still pending: it never unbans.

  ban       upsert: later expiry wins, count +1, TTL escalated by the ledger's policy
  unban     network-wide unban; a no-op when time + bantime has passed (the TTL governs)
  prolong   extend the expiry (fail2ban bantime.increment)

Restored bans (--restored 1, at fail2ban start) are not committed. Allowlisted and too-broad
addresses are refused: exit 1, nothing spooled. Bad input: exit 1 or 2, nothing spooled.
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
      if (!flusherRunning(flushLockPath(cfg.stateDir))) await spawnFlusher(cfg);
      return EXIT_OK;
    }
    // Validate before reading anything: garbage input never reaches the spool.
    const args = parseHookArgs(action, parsed.values);
    const cfg = await loadHostConfig(configPath(parsed.values.config), { cheap: true });
    const decision = await runHook(args, cfg, readGuard(cfg.stateDir), flushLockPath(cfg.stateDir));
    if (decision.kind === 'refuse') {
      err(`fail2git: ${decision.why}`);
      return EXIT_FINDING;
    }
    if (decision.kind === 'skip') err(`fail2git: ${decision.why}`);
    return EXIT_OK;
  },
};
