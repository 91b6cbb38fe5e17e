/** `fail2git pending` — operations waiting in the local spool, and the last flush's outcome. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_OK, out, parseFlags, type Command } from '../cli.js';
import { configPath, spoolPath } from '../../controller/config/host-config.js';
import { loadHostConfig } from '../../controller/config/load.js';
import { listOperations } from '../../hooks/spool.js';
import type { Operation } from '../../hooks/operations.js';

const HELP = `Usage: fail2git pending [--json] [--config FILE]

Lists the operations waiting in stateDir/spool/ (oldest first) and the outcome of the last
flush (stateDir/flush.json). Refused operations are kept in spool/refused/ for reading.`;

function line(op: Operation): string {
  const ttl = op.until ? `until ${op.until}` : op.ttl === undefined ? '' : op.ttl < 0 ? 'permanent' : `${op.ttl}s`;
  return [op.id, op.op, op.cidr, op.jail ? `${op.jail}@${op.by}` : op.by, op.at, ttl].filter(Boolean).join('  ');
}

/** Operations the ledger refused at flush time, kept in spool/refused/ for reading. */
function refusedCount(spool: string): number {
  try {
    return readdirSync(join(spool, 'refused')).filter((n) => n.endsWith('.json')).length;
  } catch {
    return 0;
  }
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
    const ops = listOperations(spoolPath(cfg));
    const last = lastFlush(cfg.stateDir);
    const refused = refusedCount(spoolPath(cfg));
    if (parsed.values.json) {
      out(JSON.stringify({ pending: ops, refused, lastFlush: last }));
      return EXIT_OK;
    }
    for (const op of ops) out(line(op));
    out(`${ops.length} pending${refused ? ` (${refused} refused, in spool/refused/)` : ''}${last ? `; last flush ${String(last.at)}: ${last.ok ? 'ok' : `failed: ${String(last.error)}`}` : ''}`);
    return EXIT_OK;
  },
};
