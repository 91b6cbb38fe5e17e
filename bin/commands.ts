/**
 * The command registry: name → the one line `fail2git --help` shows (kept here, not in the
 * modules, so the help lists every command without loading any). Each lives in ./commands/<name>.ts.
 */
export const VERSION = '0.1.0';

/** name → summary; order is the order of `fail2git --help`. */
export const COMMANDS: Record<string, { summary: string }> = {
  init: { summary: 'create a new ledger repository' },
  validate: { summary: 'check a ledger; every problem as file:line:col' },
  review: { summary: 'summarise a pull request: bans added/removed, allowlist overlaps' },
  fmt: { summary: 'rewrite ledger files into the canonical layout' },
  list: { summary: 'the enforceable set at a moment' },
  export: { summary: 'the enforceable set as txt or json (pfSense/OPNsense URL tables)' },
  ban: { summary: 'ban a CIDR network-wide (for people)' },
  unban: { summary: 'lift a ban network-wide (for people)' },
  hook: { summary: 'the fail2ban action entry point (ban|unban|prolong|flush)' },
  flush: { summary: 'push pending operations from the local spool' },
  pending: { summary: 'operations waiting in the local spool' },
  reconcile: { summary: 'bring this host\'s targets in line with the ledger' },
  plan: { summary: 'what each target would add and remove' },
  status: { summary: 'last run, applied commit, per-target counts' },
  gc: { summary: 'remove expired entries from the ledger in one commit' },
  audit: { summary: 'the life of an address in git history' },
  serve: { summary: 'CrowdSec decisions stream and fleet page, from the last good commit' },
  doctor: { summary: 'check this host\'s setup, one line per check' },
  demo: { summary: 'run the whole idea on a throwaway ledger' },
  completion: { summary: 'print bash or zsh completion' },
};

export function commandNames(): string[] {
  return Object.keys(COMMANDS);
}

