/**
 * `fail2git serve`: the CrowdSec decisions stream and the fleet page, read-only, from the
 * last good commit this host accepted (controller/serve/). Runs until SIGTERM/SIGINT.
 */
import { EXIT_OK, parseFlags, type Command } from '../cli.js';
import { DEFAULT_SERVE_LISTEN, DEFAULT_SERVE_MAX_CONNECTIONS, ledgerClonePath, type ServeConfig } from '../../controller/config/host-config.js';
import { createJsonLogger } from '../../controller/lib/log.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, resolveHostConfig, type ConfigFlagValues } from './_config.js';

const HELP = `Usage: fail2git serve [--listen ADDRESS:PORT] [--config FILE | --remote URL ...]

Serves, read-only, what this host enforces: the enforceable set of the last good commit its
reconciler accepted (signatures and the trust boundary as for reconcile; never the
unverified tip). Runs until SIGTERM/SIGINT; stopping it changes nothing a reconciler enforces.

  GET /v1/decisions/stream   CrowdSec's decisions stream for stream bouncers (X-Api-Key: a
                             key of serve.bouncerKeys; others get 403 and no data)
  GET /v1/decisions?ip=ADDR  the same for bouncers in live mode (null when none)
  GET /                      the fleet page: hosts, lag, bans, receipts per address, history
                             (a key of serve.pageKeys as HTTP Basic password, or none when
                             serve listens on loopback)
  GET /healthz               "ok"
  with serve.mirror (a site read mirror for hosts with wake:, docs/serve.md):
  GET /v1/ledger/tip?known=SHA&wait=S   the mirror's tip, held until it differs from SHA
  GET|POST /ledger.git/...   read-only git over smart HTTP (fetch only; pushes get 403)
  POST /v1/hooks/push        the forge's push webhook (with webhookSecretFile): poll now

  --listen ADDR:PORT   where to listen (default: serve.listen in the host config, else ${DEFAULT_SERVE_LISTEN})
${CONFIG_FLAGS_HELP}

Settings (host config, all optional):
  serve:
    listen: 127.0.0.1:8089
    tls: { cert: /etc/fail2git/serve.crt, key: /etc/fail2git/serve.key }
    bouncerKeys:
      - { name: edge-nginx, keyFile: /etc/fail2git/bouncer-edge-nginx.key }
      - { name: fw1, keySha256: <sha256 of the key>, expandRanges: 256 }
    pageKeys:
      - { name: ops, keyFile: /etc/fail2git/page.key }
    maxConnections: 64             # 2048 with mirror: one per host long-polling it
    fleetRefresh: 30s
    mirror:
      interval: 2s
      keys:
        - { name: site-a, keyFile: /etc/fail2git/mirror-site-a.key }
      webhookSecretFile: /etc/fail2git/webhook.secret
See docs/serve.md.`;

type Values = ConfigFlagValues & { listen?: string };

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<Values>(argv, { ...CONFIG_FLAGS, listen: { type: 'string' } }, HELP, false);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    const cfg = await resolveHostConfig(v);
    const serve: ServeConfig = {
      listen: DEFAULT_SERVE_LISTEN, bouncerKeys: [], pageKeys: [], maxConnections: DEFAULT_SERVE_MAX_CONNECTIONS, fleetRefresh: '30s',
      ...cfg.serve, ...(v.listen !== undefined && { listen: v.listen }),
    };
    const log = createJsonLogger({ base: { host: cfg.host } });
    const { startServe } = await import('../../controller/serve/run.js');
    const running = await startServe(cfg, serve, { log, now: () => new Date() });
    log.info('serve.listening', { address: running.address, tls: serve.tls !== undefined, bouncerKeys: serve.bouncerKeys.length, pageKeys: serve.pageKeys.length, clone: ledgerClonePath(cfg), ...(serve.mirror && { mirror: { interval: serve.mirror.interval, keys: serve.mirror.keys.length, webhook: serve.mirror.webhookSecretFile !== undefined, maxConnections: serve.maxConnections } }) });
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => () => {
        log.info('serve.stop', { signal: sig });
        resolve();
      };
      process.once('SIGTERM', stop('SIGTERM'));
      process.once('SIGINT', stop('SIGINT'));
    });
    await running.close();
    return EXIT_OK;
  },
};
