/** What every route of `serve` shares: answering, reading a header, telling loopback. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h) || /^::ffff:127\./.test(h);
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function hasBody(req: IncomingMessage): boolean {
  const len = Number(req.headers['content-length'] ?? 0);
  return (Number.isFinite(len) && len > 0) || req.headers['transfer-encoding'] !== undefined;
}

export function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export const sendJson = (res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void =>
  send(res, status, 'application/json', JSON.stringify(value), extra);
