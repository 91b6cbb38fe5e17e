/** `fail2git flush` — push pending operations from the local spool. */
import { EXIT_FINDING, EXIT_OK, UsageError, err, out, parseFlags, type Command } from '../cli.js';
import { configPath } from '../../controller/config/host-config.js';
import { errorMessage } from '../../controller/lib/errors.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { flushSpool } from '../../hooks/flush.js';

const HELP = `Usage: fail2git flush [--config FILE] [--json] [--background]
       fail2git flush --watch [--idle-exit SECONDS] [--config FILE]

Commits every operation waiting in the local spool (stateDir/spool/) as one commit and pushes
it (fetch, reset to the remote tip, re-apply, push; retried on a lost race). Operations are
deleted only after the push succeeded; when the remote is unreachable they wait (exit 1).
Also refreshes stateDir/guard.json (allowlist and prefix limits the hook checks).

  --background   what the node hook starts: never waits for a running flusher, prints nothing
  --json         the result as JSON
  --watch        the resident flusher: waits on the spool and flushes whatever the fail2ban
                 action writes there, at once (deploy/systemd/fail2git-flush.service runs it;
                 the action line starts one when none runs). One per host (stateDir/watch.lock);
                 a second one exits at once. Logs one line per refusal or failure on stderr.
  --idle-exit S  with --watch: leave after S seconds with nothing to do`;

function logLine(line: string): void {
  err(`${new Date().toISOString()} fail2git: ${line}`);
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ config?: string; json?: boolean; background?: boolean; watch?: boolean; 'idle-exit'?: string }>(
      argv,
      { config: { type: 'string' }, json: { type: 'boolean' }, background: { type: 'boolean' }, watch: { type: 'boolean' }, 'idle-exit': { type: 'string' } },
      HELP,
      false,
    );
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    const idle = v['idle-exit'];
    if (idle !== undefined && !/^[0-9]{1,7}$/.test(idle)) throw new UsageError(`--idle-exit must be whole seconds, got ${JSON.stringify(idle)}`);
    if (idle !== undefined && !v.watch) throw new UsageError('--idle-exit goes with --watch');
    const cfg = await loadHostConfig(configPath(v.config), { cheap: true });
    if (v.watch) {
      const { watchSpool } = await import('../../hooks/watch.js');
      const stop = new Promise((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      const res = await watchSpool(cfg, { stop, log: logLine, ...(idle !== undefined ? { idleExitMs: Number(idle) * 1000 } : {}) });
      if (res.busy && !idle) out('another resident flusher is running (stateDir/watch.lock)');
      return EXIT_OK;
    }
    if (v.background) {
      // Detached, stdio ignored: the outcome goes to stateDir/flush.json (see `fail2git pending`).
      return flushSpool(cfg, { gatherMs: 150 }).then(() => EXIT_OK, () => EXIT_FINDING);
    }
    try {
      const res = await flushSpool(cfg, { wait: true, refresh: true, log: (l) => err(`fail2git: ${l}`) });
      const refused = res.refused.length + res.rejected.length;
      if (v.json) out(JSON.stringify({ delivered: res.delivered, commits: res.commits, refused: [...res.refused.map((r) => ({ id: r.op.id, cidr: r.cidr, why: r.detail })), ...res.rejected.map((r) => ({ file: r.file, why: r.why }))], pending: res.pending }));
      else if (res.busy) out('another flusher is running; it delivers what is pending');
      else if (res.delivered === 0 && refused === 0) out('nothing pending');
      else out(`delivered ${res.delivered} operation${res.delivered === 1 ? '' : 's'} in ${res.commits.length} commit${res.commits.length === 1 ? '' : 's'}${res.commits.length ? ` (${res.commits.map((c) => c.slice(0, 12)).join(', ')})` : ''}${refused ? `; refused ${refused}` : ''}`);
      return refused > 0 ? EXIT_FINDING : EXIT_OK;
    } catch (e) {
      err(`fail2git: flush failed, operations wait in the spool: ${errorMessage(e)}`);
      return EXIT_FINDING;
    }
  },
};
