/**
 * Puts `serve` together: the served set of the last good commit, the fleet page's data
 * sources, and the server. Called by bin/commands/serve.ts; tests call it directly.
 */
import type { HostConfig, ServeConfig } from '../config/host-config.js';
import { ledgerClonePath } from '../config/host-config.js';
import type { ServeRunDeps } from './types.js';
import type { Ledger } from '../ledger/types.js';
import { ServedSetReader } from './served-set.js';
import { startServer, type RunningServer } from './server.js';

export async function startServe(cfg: HostConfig, serve: ServeConfig, deps: ServeRunDeps): Promise<RunningServer> {
  const clone = ledgerClonePath(cfg);
  const loadLedger = async (rev: string): Promise<Ledger | undefined> => {
    const { loadLedgerFromGit } = await import('../ledger/load.js');
    const r = await loadLedgerFromGit(clone, rev);
    return r.problems.length === 0 ? r.ledger : undefined;
  };
  const served = new ServedSetReader(cfg.stateDir, loadLedger);
  const { pageRenderer } = await import('./page-data.js');
  const page = pageRenderer(cfg, serve, served, deps);
  // The first read of the fleet runs beside start-up: the stream never waits on the remote.
  void page.fleet.start();
  const running = await startServer(serve, { stateDir: cfg.stateDir, served, log: deps.log, now: deps.now, page: page.render });
  return { ...running, close: async () => {
    page.fleet.stop();
    await running.close();
  } };
}
