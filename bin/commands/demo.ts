/** `fail2git demo [--keep]` — see bin/demo/run.ts. */
import { parseFlags, type Command } from '../cli.js';

const HELP = `Usage: fail2git demo [--keep]

Runs the whole idea on a throwaway ledger: a local bare ledger seeded from this project's
bans/, two simulated fail2ban hosts banning through the real hook, a reconcile onto a file
target and a pve-clusterfw target in a temp dir (and, as root with ipset/nft/ip installed,
onto real ipset and nftables in a throwaway network namespace), an expiry happening live,
and an audit of one address. Leaves nothing behind unless --keep.

  --keep   keep the temporary ledger, host configs and state to play with`;

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ keep?: boolean }>(argv, { keep: { type: 'boolean' } }, HELP, false);
    if (!parsed) return 0;
    const { runDemo } = await import('../demo/run.js');
    return runDemo({ keep: parsed.values.keep === true });
  },
};
