/** `fail2git pending` — operations waiting in the local spool, and the last flush's outcome. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_OK, out, parseFlags, type Command } from '../cli.js';
import { configPath, spoolPath } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { listRefused } from '../../hooks/spool.js';
import { pendingOperations } from '../../hooks/flush.js';
import { watcherRunning } from '../../hooks/fail2ban-commit.js';
import type { Operation } from '../../hooks/operations.js';

const HELP = `Usage: fail2git pending [--json] [--config FILE]

Lists the operations waiting in stateDir/spool/ (oldest first: the JSON operations and the
records the fail2ban action line wrote, checked as the hook checks, so a bad record moves to
spool/refused/ now), whether the resident flusher (\`flush --watch\`) runs, the outcome of the last
flush (stateDir/flush.json), then the refused operations kept in spool/refused/ (by the
hook or at flush time: allowlisted, too broad, or one that would make the ledger invalid),
each with its reason. They are never pushed; delete the files once read.`;

function line(op: Operation): string {
  const ttl = op.until ? `until ${op.until}` : op.ttl === undefined ? '' : op.ttl < 0 ? 'permanent' : `${op.ttl}s`;
  return [op.id, op.op, op.cidr, op.jail ? `${op.jail}@${op.by}` : op.by, op.at, ttl].filter(Boolean).join('  ');
}

function lastFlush(stateDir: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'flush.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ json?: boolean; config?: string }>(argv, { json: { type: 'boolean' }, config: { type: 'string' } }, HELP, false);
    if (!parsed) return EXIT_OK;
    const cfg = await loadHostConfig(configPath(parsed.values.config), { cheap: true });
    const ops = pendingOperations(cfg);
    const watching = watcherRunning(cfg.stateDir);
    const last = lastFlush(cfg.stateDir);
    const refusedOps = listRefused(spoolPath(cfg));
    const refused = refusedOps.length;
    if (parsed.values.json) {
      out(JSON.stringify({ pending: ops, refused, refusedOps, watcher: watching, lastFlush: last }));
      return EXIT_OK;
    }
    for (const op of ops) out(line(op));
    out(`${ops.length} pending${refused ? ` (${refused} refused, in spool/refused/)` : ''}${last ? `; last flush ${String(last.at)}: ${last.ok ? 'ok' : `failed: ${String(last.error)}`}` : ''}; resident flusher ${watching ? 'running' : 'not running'}`);
    for (const op of refusedOps) out(`refused  ${line(op)}  ${op.refused}`);
    return EXIT_OK;
  },
};
