/**
 * serve's mirror endpoints (docs/serve.md "Mirror"), when the host config has `serve.mirror`:
 *  - `GET /v1/ledger/tip?known=SHA&wait=S`: the mirror's tip at once when it differs from
 *    `known`, else held until it changes or `wait` seconds (at most MAX_WAIT_S) pass;
 *  - read-only git over smart HTTP from the mirror (`git http-backend` as a CGI):
 *    `GET /ledger.git/info/refs?service=git-upload-pack` and `POST /ledger.git/git-upload-pack`.
 *    receive-pack is never routed (and is off in the repository): pushes get 403;
 *  - `POST /v1/hooks/push`, only with serve.mirror.webhookSecretFile: a valid forge webhook
 *    makes the mirror poll now (./webhook.ts); without the secret the path is 404.
 * Long-poll and git need a key of serve.mirror.keys (X-Api-Key), or none when serve listens on
 * loopback and the client is local. Every other path and method is serve's, read-only as before.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';
import type { MirrorConfig } from '../config/host-config.js';
import { isSha } from '../git/mirror.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { loadKeys, matchKey } from '../serve/keys.js';
import { hasBody, header, isLoopback, send, sendJson } from '../serve/respond.js';
import type { LedgerMirror } from './mirror.js';
import { MAX_WEBHOOK_BODY, loadWebhookSecret, verifyWebhook } from './webhook.js';

/** The longest a long-poll is held (below common proxies' 60 s idle timeouts). */
export const MAX_WAIT_S = 50;
/** How long past its wait a long-poll's socket may stay silent before serve drops it. */
const SOCKET_SLACK_MS = 15_000;
/** A git request's socket may be silent this long (a fetch waits its turn behind others). */
const GIT_SOCKET_MS = 120_000;
/** git http-backend processes at once; more requests wait their turn. */
const MAX_GIT_PROCESSES = 8;
/** An upload-pack request (wants and haves) larger than this is refused. */
const MAX_UPLOAD_REQUEST = 8 << 20;
/** serve's own idle socket timeout (./server.ts), restored after a long request. */
const DEFAULT_SOCKET_MS = 15_000;

export interface MirrorRoutes {
  /** Answers a mirror path; false = not a mirror path (serve's other routes go on). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  /** requests answered, by kind (the bench's mirror requests per second) */
  readonly counts: { tip: number; git: number; hook: number; refused: number };
}

export interface MirrorRouteOptions {
  config: MirrorConfig;
  mirror: LedgerMirror;
  /** the bare repository (<stateDir>/mirror.git) */
  repoDir: string;
  loopbackOnly: boolean;
  log: Logger;
}

export function mirrorRoutes(o: MirrorRouteOptions): MirrorRoutes {
  const keys = loadKeys(o.config.keys, 'mirror');
  const secret = o.config.webhookSecretFile ? loadWebhookSecret(o.config.webhookSecretFile) : undefined;
  const counts = { tip: 0, git: 0, hook: 0, refused: 0 };
  const gate = new Gate(MAX_GIT_PROCESSES);
  let capabilities: CapturedAnswer | undefined;

  const forbidden = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    counts.refused++;
    o.log.warn('serve.forbidden', { path: url.pathname, remote: req.socket.remoteAddress ?? '' });
    sendJson(res, 403, { message: 'access forbidden' });
  };
  const allowed = (req: IncomingMessage): boolean => {
    if (keys.length > 0) return matchKey(keys, header(req, 'x-api-key')) !== undefined;
    return o.loopbackOnly && isLoopback(req.socket.remoteAddress ?? '');
  };

  async function tip(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { message: 'GET only' }, { Allow: 'GET, HEAD' });
    if (hasBody(req)) return sendJson(res, 413, { message: 'no request bodies' });
    if (!allowed(req)) return forbidden(req, res, url);
    counts.tip++;
    const known = url.searchParams.get('known') ?? '';
    if (known !== '' && !isSha(known)) return sendJson(res, 400, { message: '"known" must be a commit id (40 or 64 hex digits)' });
    const waitText = url.searchParams.get('wait') ?? '0';
    const wait = Number(waitText);
    if (!/^\d{1,6}(\.\d{1,3})?$/.test(waitText) || !Number.isFinite(wait)) return sendJson(res, 400, { message: '"wait" must be a number of seconds' });
    const waitMs = Math.min(MAX_WAIT_S, wait) * 1000;
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    if (waitMs > 0) req.socket.setTimeout(waitMs + SOCKET_SLACK_MS);
    await o.mirror.waitForChange(known === '' ? undefined : known, waitMs, gone.signal);
    if (res.destroyed || gone.signal.aborted) return;
    req.socket.setTimeout(DEFAULT_SOCKET_MS);
    const s = o.mirror.state;
    if (s.tip === undefined) return sendJson(res, 503, { message: 'the mirror has not fetched the remote yet' }, { 'Retry-After': '5' });
    sendJson(res, 200, { branch: s.branch, tip: s.tip, polledAt: s.polledAt === undefined ? null : new Date(s.polledAt).toISOString(), stale: s.stale });
  }

  async function hook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendJson(res, 405, { message: 'POST only' }, { Allow: 'POST' });
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_WEBHOOK_BODY) return refuseBody(res, MAX_WEBHOOK_BODY);
    const body = await readBody(req, MAX_WEBHOOK_BODY);
    if (body === undefined) return refuseBody(res, MAX_WEBHOOK_BODY);
    const verdict = verifyWebhook(req.headers, body, secret!);
    if (verdict !== 'ok') {
      counts.refused++;
      o.log.warn('mirror.hook-refused', { reason: verdict === 'missing' ? 'no signature or token' : 'wrong signature or token', remote: req.socket.remoteAddress ?? '' });
      return sendJson(res, verdict === 'missing' ? 401 : 403, { message: verdict === 'missing' ? 'a signature (X-Hub-Signature-256) or token (X-Gitlab-Token) is needed' : 'wrong signature or token' });
    }
    counts.hook++;
    o.mirror.poke();
    sendJson(res, 202, { message: 'the mirror polls the remote now' });
  }

  async function git(req: IncomingMessage, res: ServerResponse, url: URL, rest: string): Promise<void> {
    const service = url.searchParams.get('service');
    const upload = rest === '/git-upload-pack' && req.method === 'POST';
    const refs = rest === '/info/refs' && (req.method === 'GET' || req.method === 'HEAD') && service === 'git-upload-pack' && url.search === '?service=git-upload-pack';
    if (rest === '/git-receive-pack' || service === 'git-receive-pack') {
      counts.refused++;
      return sendJson(res, 403, { message: 'the mirror is read-only: push to the remote' });
    }
    if (!upload && !refs) return sendJson(res, 404, { message: 'not found (the mirror speaks smart HTTP, fetch only)' });
    if (!allowed(req)) return forbidden(req, res, url);
    if (refs && hasBody(req)) return sendJson(res, 413, { message: 'no request bodies' });
    if (upload && Number(req.headers['content-length'] ?? 0) > MAX_UPLOAD_REQUEST) return refuseBody(res, MAX_UPLOAD_REQUEST);
    counts.git++;
    req.socket.setTimeout(GIT_SOCKET_MS);
    res.once('finish', () => req.socket.setTimeout(DEFAULT_SOCKET_MS));
    // Under protocol v2 the ref advertisement is only the server's capabilities: the same for
    // every request, so a site's hosts fetching at once cost one git process for it, not one each.
    const v2 = refs && /(^|:)version=2(:|$)/.test(header(req, 'git-protocol') ?? '');
    if (v2 && capabilities) {
      res.writeHead(200, capabilities.headers);
      res.end(req.method === 'HEAD' ? undefined : capabilities.body);
      return;
    }
    await gate.run(() => cgi(req, res, rest, v2 ? (c) => (capabilities = c) : undefined));
  }

  /** One `git http-backend` run: env per RFC 3875 (what git needs), body piped in, its answer out. */
  function cgi(req: IncomingMessage, res: ServerResponse, rest: string, capture?: (answer: CapturedAnswer) => void): Promise<void> {
    return new Promise((resolve) => {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH, GIT_PROJECT_ROOT: dirname(o.repoDir), GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: `/${basename(o.repoDir)}${rest}`, QUERY_STRING: req.method === 'POST' ? '' : 'service=git-upload-pack',
        REQUEST_METHOD: req.method, CONTENT_TYPE: header(req, 'content-type') ?? '', REMOTE_ADDR: req.socket.remoteAddress ?? '',
        GIT_CONFIG_NOSYSTEM: '1', HOME: dirname(o.repoDir), LC_ALL: 'C',
      };
      const len = header(req, 'content-length');
      if (len) env.CONTENT_LENGTH = len;
      const proto = header(req, 'git-protocol');
      if (proto && /^[A-Za-z0-9=:.,_-]{1,256}$/.test(proto)) env.GIT_PROTOCOL = proto;
      const enc = header(req, 'content-encoding');
      if (enc === 'gzip' || enc === 'x-gzip') env.HTTP_CONTENT_ENCODING = enc;
      const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
      let received = 0;
      let head = Buffer.alloc(0);
      let started = false;
      let status = 200;
      const headers: Record<string, string> = {};
      const kept: Buffer[] = [];
      const fail = (): void => {
        child.kill('SIGKILL');
        if (!res.headersSent) sendJson(res, 500, { message: 'git failed' });
        else res.destroy();
      };
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_UPLOAD_REQUEST) {
          req.unpipe(child.stdin);
          fail();
        }
      });
      req.pipe(child.stdin);
      child.stdin.on('error', () => undefined);
      res.once('close', () => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      child.stdout.on('data', (d: Buffer) => {
        if (started) {
          if (capture) kept.push(d);
          res.write(d);
          return;
        }
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 16_384) fail();
          return;
        }
        started = true;
        for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
          const i = line.indexOf(':');
          if (i <= 0) continue;
          const k = line.slice(0, i).trim();
          const v = line.slice(i + 1).trim();
          if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]) || 500;
          else headers[k] = v;
        }
        res.writeHead(status, headers);
        const first = head.subarray(end + 4);
        if (capture) kept.push(first);
        res.write(first);
      });
      child.on('error', (err) => {
        o.log.error('mirror.git-failed', { error: errorMessage(err) });
        fail();
        resolve();
      });
      child.on('close', (code) => {
        if (!started) fail();
        else res.end();
        if (capture && started && code === 0 && status === 200) capture({ headers, body: Buffer.concat(kept) });
        resolve();
      });
    });
  }

  return {
    counts,
    async handle(req, res, url) {
      const p = url.pathname;
      if (p === '/v1/ledger/tip') {
        await tip(req, res, url);
        return true;
      }
      if (p === '/v1/hooks/push') {
        if (!secret) sendJson(res, 404, { message: 'not found (no serve.mirror.webhookSecretFile)' });
        else await hook(req, res);
        return true;
      }
      if (p === '/ledger.git' || p.startsWith('/ledger.git/')) {
        await git(req, res, url, p.slice('/ledger.git'.length));
        return true;
      }
      return false;
    },
  };
}

/** A whole answer of git http-backend, kept to be sent again. */
interface CapturedAnswer {
  headers: Record<string, string>;
  body: Buffer;
}

function refuseBody(res: ServerResponse, max: number): void {
  sendJson(res, 413, { message: `request body over ${max} bytes` }, { Connection: 'close' });
}

/** The whole body, or undefined once it passes `max` bytes (the rest is not read). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.pause();
        resolve(undefined);
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** At most `width` jobs at once; the others wait in order. */
class Gate {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly width: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.width) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await job();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
