/**
 * `fail2git serve`: a read-only HTTP(S) server (node:http / node:https only) for
 *  - CrowdSec bouncers: `GET|HEAD /v1/decisions/stream` (./decisions.ts) for stream bouncers,
 *    `GET /v1/decisions?ip=` for live ones, `X-Api-Key` with a key from `serve.bouncerKeys`; a
 *    missing or wrong key gets 403 and no data;
 *  - people: the fleet page at `/` (./page.ts), with a key from `serve.pageKeys` (HTTP Basic
 *    password or X-Api-Key), or without one when serve listens on loopback only.
 * It serves the last good commit this host accepted (./served-set.ts), never the tip, and
 * changes nothing a reconciler enforces: stopping it only stops the answers.
 *
 * Bounded under load: at most `maxConnections` sockets, header and request timeouts, small
 * headers, no request bodies (read-only), a cap on the page's rows; each bouncer's pulls run
 * one at a time.
 */
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ConfigError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { ServeConfig } from '../config/host-config.js';
import { loadKeys, matchKey, type LoadedKey } from './keys.js';
import { emptyState, filterWanted, liveDecisions, streamDelta, wantedDecisions, type BouncerState } from './decisions.js';
import { cidrOverlaps, tryParseCidr } from '../net/cidr.js';
import { readBouncerState, writeBouncerState } from './bouncer-state.js';
import type { ServedSetReader } from './served-set.js';
import type { PageRequest } from './types.js';
import { hasBody, header, isLoopback, send } from './respond.js';
import type { MirrorRoutes } from '../mirror/routes.js';

export { isLoopback };

export interface ServeDeps {
  stateDir: string;
  served: ServedSetReader;
  log: Logger;
  now: () => Date;
  /** the fleet page's HTML (./page.ts); absent = no page */
  page?: (req: PageRequest) => Promise<string>;
  /** the read mirror's endpoints (controller/mirror/routes.ts); absent = no mirror */
  mirror?: (loopbackOnly: boolean) => MirrorRoutes;
}

export interface RunningServer {
  server: Server;
  /** the bound address, e.g. 127.0.0.1:8089 */
  address: string;
  /** the mirror's endpoints, when serve has one (their request counts) */
  mirror?: MirrorRoutes;
  close(): Promise<void>;
}

/** what a non-loopback page without keys, a stream without keys, or a wrong key gets */
const FORBIDDEN = '{"message":"access forbidden"}';
const MAX_HEADER_BYTES = 8192;

export function splitListen(listen: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(listen);
  if (!m) throw new ConfigError('E_SERVE_LISTEN', `serve.listen ${JSON.stringify(listen)} is not ADDRESS:PORT`);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError('E_SERVE_LISTEN', `serve.listen ${JSON.stringify(listen)}: port above 65535`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export async function startServer(cfg: ServeConfig, deps: ServeDeps): Promise<RunningServer> {
  const bouncers = loadKeys(cfg.bouncerKeys, 'bouncer');
  const pageKeys = loadKeys(cfg.pageKeys, 'page');
  const { host, port } = splitListen(cfg.listen);
  const loopbackOnly = isLoopback(host);
  const queues = new Map<string, Promise<unknown>>();
  const states = new Map<string, BouncerState>();
  const mirror = deps.mirror?.(loopbackOnly);

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      deps.log.error('serve.failed', { path: pathOf(req), error: errorMessage(err) });
      if (!res.headersSent) send(res, 500, 'application/json', '{"message":"internal error"}');
      else res.destroy();
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // The mirror's paths take their own methods and bodies (git's POST, the webhook); every
    // other path stays GET/HEAD without a body.
    if (mirror && (await mirror.handle(req, res, new URL(req.url ?? '/', 'http://serve.invalid')))) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'application/json', '{"message":"read-only: GET and HEAD only"}', { Allow: 'GET, HEAD' });
    if (hasBody(req)) return send(res, 413, 'application/json', '{"message":"no request bodies"}');
    const url = new URL(req.url ?? '/', 'http://serve.invalid');
    if (url.pathname === '/v1/decisions/stream') return stream(req, res, url);
    if (url.pathname === '/v1/decisions') return live(req, res, url);
    if (url.pathname === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    if (url.pathname === '/' && deps.page) return page(req, res, url);
    return send(res, 404, 'application/json', '{"message":"not found"}');
  }

  async function stream(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const key = matchKey(bouncers, header(req, 'x-api-key'));
    if (!key) {
      deps.log.warn('serve.forbidden', { path: url.pathname, remote: req.socket.remoteAddress ?? '' });
      return send(res, 403, 'application/json', FORBIDDEN);
    }
    // HEAD answers without a pull, as CrowdSec's LAPI does (it must not move the delta).
    if (req.method === 'HEAD') return send(res, 200, 'application/json', '');
    const startup = url.searchParams.get('startup') === 'true';
    await serially(key.name, () => pull(key, startup, url.searchParams, res));
  }

  /** Live mode: which decisions hold for one address or range; `null` when none, as the LAPI answers. */
  async function live(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const key = matchKey(bouncers, header(req, 'x-api-key'));
    if (!key) return send(res, 403, 'application/json', FORBIDDEN);
    const text = url.searchParams.get('ip') ?? url.searchParams.get('range') ?? url.searchParams.get('value');
    const q = text === null ? undefined : tryParseCidr(text);
    if (q instanceof Error) return send(res, 400, 'application/json', JSON.stringify({ message: `${JSON.stringify(text!.slice(0, 64))} is not an IP address or range` }));
    if (req.method === 'HEAD') return send(res, 200, 'application/json', '');
    const now = deps.now();
    const set = await deps.served.at(now);
    const found = liveDecisions(wantedDecisions(set.entries, 0), now, (value) => {
      if (!q) return true;
      const c = tryParseCidr(value);
      return !(c instanceof Error) && cidrOverlaps(c, q);
    });
    send(res, 200, 'application/json', found.length ? JSON.stringify(found) : 'null');
  }

  /**
   * One pull. The bouncer's new state is kept only once the answer was handed over whole (as
   * CrowdSec moves a bouncer's last pull only when sending succeeded): an answer lost on the way
   * is computed again at the next pull, never skipped.
   */
  async function pull(key: LoadedKey, startup: boolean, params: URLSearchParams, res: ServerResponse): Promise<void> {
    const now = deps.now();
    const set = await deps.served.at(now);
    const before = states.get(key.name) ?? readBouncerState(deps.stateDir, key.name);
    // Never pulled (or a lost state file): answer as a startup, which sends everything.
    const r = streamDelta(before ?? emptyState(), filterWanted(wantedDecisions(set.entries, key.expandRanges), params), now, startup || !before);
    if (res.destroyed || !res.socket || res.socket.destroyed) {
      deps.log.warn('serve.pull-lost', { bouncer: key.name, new: r.response.new.length, deleted: r.response.deleted.length });
      return;
    }
    const delivered = new Promise<boolean>((resolve) => {
      res.once('finish', () => resolve(true));
      res.once('close', () => resolve(res.writableFinished));
    });
    send(res, 200, 'application/json', JSON.stringify(r.response));
    if (!(await delivered)) {
      deps.log.warn('serve.pull-lost', { bouncer: key.name, new: r.response.new.length, deleted: r.response.deleted.length });
      return;
    }
    if (r.changed || !before) writeBouncerState(deps.stateDir, key.name, r.state);
    states.set(key.name, r.state);
    if (r.response.new.length || r.response.deleted.length) {
      deps.log.info('serve.pull', { bouncer: key.name, startup, rev: set.rev ?? null, new: r.response.new.length, deleted: r.response.deleted.length });
    }
  }

  function serially<T>(name: string, job: () => Promise<T>): Promise<T> {
    const prev = queues.get(name) ?? Promise.resolve();
    const run = prev.then(job, job);
    queues.set(name, run.catch(() => undefined));
    return run;
  }

  async function page(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (pageKeys.length > 0) {
      if (!matchKey(pageKeys, header(req, 'x-api-key') ?? basicPassword(req))) {
        return send(res, 401, 'text/plain; charset=utf-8', 'a page key is needed (HTTP Basic password)\n', { 'WWW-Authenticate': 'Basic realm="fail2git", charset="UTF-8"' });
      }
    } else if (!loopbackOnly || !isLoopback(req.socket.remoteAddress ?? '')) {
      return send(res, 403, 'text/plain; charset=utf-8', 'the page needs serve.pageKeys when serve listens beyond loopback\n');
    }
    const html = await deps.page!({ query: url.searchParams, now: deps.now() });
    send(res, 200, 'text/html; charset=utf-8', html, {
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
      'Referrer-Policy': 'no-referrer',
    });
  }

  // Idle and slow sockets are checked every second (node's default is 30 s), so a slow client
  // holds a connection slot for a few seconds at most.
  const options = { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 };
  const server: Server = cfg.tls
    ? createHttps({ ...options, cert: readTls(cfg.tls.cert), key: readTls(cfg.tls.key) }, handler)
    : createHttp(options, handler);
  server.maxConnections = cfg.maxConnections;
  server.setTimeout(15_000, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ConfigError('E_SERVE_LISTEN', `cannot listen on ${cfg.listen}: ${err.code ?? errorMessage(err)}`)));
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  return {
    server, address, ...(mirror ? { mirror } : {}),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    }),
  };
}

function readTls(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError('E_SERVE_TLS', `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}


function basicPassword(req: IncomingMessage): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]{1,2048})$/i.exec(header(req, 'authorization') ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : text.slice(i + 1);
}


function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!.slice(0, 200);
}

