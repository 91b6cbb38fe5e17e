/**
 * Puts `serve` together: the served set of the last good commit, the fleet page's data
 * sources, the read mirror when configured, and the server. Called by bin/commands/serve.ts; tests call it directly.
 */
import type { HostConfig, MirrorConfig, ServeConfig } from '../config/host-config.js';
import { LedgerMirror } from '../mirror/mirror.js';
import { mirrorRoutes } from '../mirror/routes.js';
import { parseDuration } from '../lib/duration.js';
import { execRunner } from '../lib/exec.js';
import { ledgerClonePath, mirrorRepoPath } from '../config/host-config.js';
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
  const mirror = serve.mirror ? await startMirror(cfg, serve.mirror, deps) : undefined;
  let running: RunningServer;
  try {
    running = await startServer(serve, {
      stateDir: cfg.stateDir, served, log: deps.log, now: deps.now, page: page.render,
      ...(mirror && { mirror: (loopbackOnly: boolean) => mirrorRoutes({ config: serve.mirror!, mirror, repoDir: mirrorRepoPath(cfg), loopbackOnly, log: deps.log }) }),
    });
  } catch (err) {
    mirror?.stop();
    page.fleet.stop();
    throw err;
  }
  return { ...running, close: async () => {
    page.fleet.stop();
    mirror?.stop();
    await running.close();
  } };
}

/** The read mirror (controller/mirror/): its repository is made and its first poll starts. */
async function startMirror(cfg: HostConfig, m: MirrorConfig, deps: ServeRunDeps): Promise<LedgerMirror> {
  const mirror = new LedgerMirror({ remote: cfg.remote, dir: mirrorRepoPath(cfg), branch: cfg.branch, intervalMs: parseDuration(m.interval), run: execRunner, log: deps.log });
  await mirror.start();
  return mirror;
}
