/**
 * A minimal client for Proxmox VE's REST API with API-token auth. TLS is always verified:
 * either against a CA file (Proxmox's own `pve-root-ca.pem`) or by pinning the SHA-256
 * fingerprint of the server certificate. Secrets never reach a message: errors name the
 * method, path and Proxmox's answer, cut to 256 characters and redacted.
 */
import { Agent, request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { redact, TargetError, type ErrorCode } from '../../lib/errors.js';

export interface ApiClientOptions {
  /** e.g. `https://pve1:8006/api2/json` */
  baseUrl: string;
  tokenId: string;
  secret: string;
  /** SHA-256 fingerprint, `AB:CD:…` upper case */
  fingerprint?: string;
  /** PEM of the CA to trust instead of the system store */
  ca?: string;
  timeoutMs: number;
  maxSockets: number;
}

/** A failed call: `status` 0 for network errors. */
export class PveApiError extends TargetError {
  readonly status: number;
  readonly errors: Record<string, string>;
  constructor(target: string, status: number, message: string, errors: Record<string, string> = {}, cause?: unknown, code: ErrorCode = apiErrorCode(status)) {
    super(target, code, message, { cause });
    this.status = status;
    this.errors = errors;
  }

  /** Worth retrying: network trouble, lock timeouts and other server errors that are not about our input. */
  get retryable(): boolean {
    if (this.status === 0) return true;
    if (this.status < 500 || this.status === 501) return false;
    return !/no such ipset|not empty|no such alias|detected modified configuration/i.test(this.message);
  }
}

function apiErrorCode(status: number): ErrorCode {
  if (status === 0) return 'E_PVE_NETWORK';
  if (status === 401) return 'E_PVE_AUTH';
  if (status === 403) return 'E_PVE_FORBIDDEN';
  if (status === 400) return 'E_PVE_BAD_REQUEST';
  return 'E_PVE_SERVER';
}

export type Params = Record<string, string>;

export class PveApiClient {
  private readonly agent: Agent;

  constructor(private readonly target: string, private readonly opts: ApiClientOptions) {
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: opts.maxSockets,
      ...(opts.ca ? { ca: opts.ca } : {}),
      // With a pinned fingerprint the chain cannot verify (Proxmox's CA is private), so the
      // pin replaces it: send() writes nothing until the peer certificate matched the pin.
      rejectUnauthorized: opts.fingerprint === undefined,
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** `data` of a successful answer; PveApiError otherwise. GET/DELETE carry params in the query, never a body. */
  async call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, params: Params = {}): Promise<unknown> {
    const query = new URLSearchParams(params).toString();
    const inQuery = method === 'GET' || method === 'DELETE';
    const url = `${this.opts.baseUrl}${path}${inQuery && query ? `?${query}` : ''}`;
    const body = inQuery ? undefined : query;
    const res = await this.send(method, url, path, body);
    let parsed: unknown;
    let json = true;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      json = false; // a non-JSON error page: the status line still says what happened
    }
    const answer = isRecord(parsed) ? parsed : {};
    if (res.status === 200) {
      if (!json) throw unexpectedAnswer(this.target, method, path, `not JSON (${JSON.stringify(res.body.slice(0, 60))})`);
      if (!isRecord(parsed) || !('data' in parsed)) throw unexpectedAnswer(this.target, method, path, 'not a JSON object with "data"');
      return parsed.data ?? null;
    }
    // Only string values are Proxmox's per-parameter errors; anything else is not its answer.
    const errors = isRecord(answer.errors) ? Object.fromEntries(Object.entries(answer.errors).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
    const message = typeof answer.message === 'string' ? answer.message.trim() : '';
    const detail = [message || res.reason, ...Object.entries(errors).map(([k, v]) => `${k}: ${v}`)].join('; ');
    throw new PveApiError(this.target, res.status, clip(`${method} ${path}: ${res.status} ${detail}${hint(res.status)}`), errors);
  }

  private send(method: string, url: string, path: string, body?: string): Promise<{ status: number; reason: string; body: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { authorization: `PVEAPIToken=${this.opts.tokenId}=${this.opts.secret}` };
      if (body !== undefined) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = request(url, { method, headers, agent: this.agent, timeout: this.opts.timeoutMs });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(this.networkError(method, path, err)));
      });
      req.on('timeout', () => req.destroy(new PveApiError(this.target, 0, `${method} ${path}: no answer within ${this.opts.timeoutMs} ms`)));
      req.on('error', (err) => reject(err instanceof PveApiError ? err : this.networkError(method, path, err)));
      if (this.opts.fingerprint === undefined) return void req.end(body);
      req.on('socket', (socket) => this.whenPinned(socket as TLSSocket, () => req.end(body), (err) => req.destroy(err), method, path));
    });
  }

  private whenPinned(socket: TLSSocket, ok: () => void, fail: (err: Error) => void, method: string, path: string): void {
    const check = (): void => {
      const seen = socket.getPeerCertificate()?.fingerprint256;
      if (seen === this.opts.fingerprint) return ok();
      fail(new PveApiError(this.target, 0, `${method} ${path}: server certificate fingerprint ${seen ?? '(none)'} does not match the pinned ${this.opts.fingerprint}; refusing to send the token`));
    };
    if (socket.getPeerCertificate?.()?.fingerprint256) check();
    else socket.once('secureConnect', check);
  }

  private networkError(method: string, path: string, err: Error): PveApiError {
    const code = (err as NodeJS.ErrnoException).code;
    return new PveApiError(this.target, 0, clip(`${method} ${path}: ${code ? `${code} ` : ''}${err.message}`), {}, err);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An answer that is not what Proxmox sends (a proxy's page, a cut-off reply, another shape). */
export function unexpectedAnswer(target: string, method: string, path: string, why: string): PveApiError {
  return new PveApiError(target, 200, clip(`unexpected answer to ${method} ${path}: ${why}`), {}, undefined, 'E_PVE_ANSWER');
}

function hint(status: number): string {
  if (status === 401) return ' (check tokenId and the secret file)';
  if (status === 403) return ' (the token needs Sys.Audit and Sys.Modify on / through its own ACL)';
  return '';
}

// Redacted before it is cut: a secret cut in half would no longer match.
const clip = (raw: string): string => {
  const text = redact(raw);
  return text.length > 256 ? `${text.slice(0, 253)}...` : text;
};

/** `aa:bb…`, `AABB…` or `sha256//…` forms → `AA:BB:…` as node reports it. */
export function normaliseFingerprint(text: string): string | undefined {
  const hex = text.replace(/^sha256\/\//i, '').replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}
