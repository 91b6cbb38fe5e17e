/** `fail2git flush` — push pending operations from the local spool. */
import { EXIT_FINDING, EXIT_OK, err, out, parseFlags, type Command } from '../cli.js';
import { configPath } from '../../controller/config/host-config.js';
import { errorMessage } from '../../controller/lib/errors.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { flushSpool } from '../../hooks/flush.js';

const HELP = `Usage: fail2git flush [--config FILE] [--json] [--background]

Commits every operation waiting in the local spool (stateDir/spool/) as one commit and pushes
it (fetch, reset to the remote tip, re-apply, push; retried on a lost race). Operations are
deleted only after the push succeeded; when the remote is unreachable they wait (exit 1).
Also refreshes stateDir/guard.json (allowlist and prefix limits the hook checks).

  --background   what the hook starts: never waits for a running flusher, prints nothing
  --json         the result as JSON`;

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ config?: string; json?: boolean; background?: boolean }>(
      argv,
      { config: { type: 'string' }, json: { type: 'boolean' }, background: { type: 'boolean' } },
      HELP,
      false,
    );
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    const cfg = await loadHostConfig(configPath(v.config), { cheap: true });
    if (v.background) {
      // Detached, stdio ignored: the outcome goes to stateDir/flush.json (see `fail2git pending`).
      return flushSpool(cfg, { gatherMs: 150 }).then(() => EXIT_OK, () => EXIT_FINDING);
    }
    try {
      const res = await flushSpool(cfg, { wait: true, refresh: true, log: (l) => err(`fail2git: ${l}`) });
      if (v.json) out(JSON.stringify({ delivered: res.delivered, commits: res.commits, refused: res.refused.map((r) => ({ id: r.op.id, cidr: r.cidr, why: r.detail })), pending: res.pending }));
      else if (res.busy) out('another flusher is running; it delivers what is pending');
      else if (res.delivered === 0 && res.refused.length === 0) out('nothing pending');
      else out(`delivered ${res.delivered} operation${res.delivered === 1 ? '' : 's'} in ${res.commits.length} commit${res.commits.length === 1 ? '' : 's'}${res.commits.length ? ` (${res.commits.map((c) => c.slice(0, 12)).join(', ')})` : ''}${res.refused.length ? `; refused ${res.refused.length}` : ''}`);
      return res.refused.length > 0 ? EXIT_FINDING : EXIT_OK;
    } catch (e) {
      err(`fail2git: flush failed, operations wait in the spool: ${errorMessage(e)}`);
      return EXIT_FINDING;
    }
  },
};
