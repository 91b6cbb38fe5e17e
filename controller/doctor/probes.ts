/**
 * The I/O edges of `fail2git doctor`: file modes, programs on PATH, a pinned-TLS request to
 * the Proxmox API, HTTP Date headers, timedatectl. Each probe answers facts; judging them
 * is controller/doctor/doctor.ts's job.
 */
import { rememberSecret } from '../lib/redact.js';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type TLSSocket } from 'node:tls';
import { delimiter, join } from 'node:path';
import type { Runner } from '../lib/exec.js';
import type { ErrorCode } from '../lib/errors.js';

/** Mode bits of a file, or the errno code when it cannot be stat'ed. */
export function fileMode(path: string): { mode: number } | { error: string } {
  try {
    return { mode: statSync(path).mode & 0o7777 };
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? 'error' };
  }
}

/** The first executable `name` in the directories of `pathVar` (a PATH-style list). */
export function findProgram(name: string, pathVar: string): string | undefined {
  for (const dir of new Set(pathVar.split(delimiter).filter((d) => d !== ''))) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch { /* next */ }
  }
  return undefined;
}

export interface PveProbe {
  url: string;
  tokenId?: string | undefined;
  tokenSecretFile?: string | undefined;
  /** SHA-256 fingerprint `AA:BB:…`; pins the certificate (Proxmox's default is self-signed) */
  fingerprint?: string | undefined;
  caFile?: string | undefined;
  timeoutMs?: number;
}

export interface PveAnswer {
  status: number;
  /** the server's Date header, for the clock check */
  date?: Date;
  /** the certificate's SHA-256 fingerprint as seen */
  fingerprint: string;
}

export class ProbeError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** TLS first, pin checked, and only then is the token sent: a wrong server never sees it. */
async function pinnedSocket(u: URL, p: PveProbe): Promise<TLSSocket> {
  const ca = p.caFile ? readFileSync(p.caFile) : undefined;
  const socket = connect({
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 443),
    servername: /^[\d.]+$|:/.test(u.hostname) ? undefined : u.hostname,
    // With a pin, the chain is not what we trust (Proxmox self-signs); the fingerprint is.
    rejectUnauthorized: !p.fingerprint,
    ...(ca ? { ca } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { socket.destroy(); reject(new ProbeError('E_PROBE_TIMEOUT', `${u.host}: no TLS handshake within ${p.timeoutMs ?? 5000} ms`)); }, p.timeoutMs ?? 5000);
    socket.once('secureConnect', () => { clearTimeout(timer); resolve(); });
    socket.once('error', (e: NodeJS.ErrnoException) => { clearTimeout(timer); reject(new ProbeError('E_PROBE_TLS', `${u.host}: ${e.code ?? ''} ${e.message}`.trim())); });
  });
  const seen = socket.getPeerCertificate().fingerprint256 ?? '';
  if (p.fingerprint && seen.toUpperCase() !== p.fingerprint.toUpperCase()) {
    socket.destroy();
    throw new ProbeError('E_PROBE_PIN', `${u.host}: certificate fingerprint ${seen} does not match the pinned ${p.fingerprint}`);
  }
  return socket;
}

/** GET the cluster IPSet list: proves reachability, TLS, the token and its read privilege. */
export async function probePveApi(p: PveProbe): Promise<PveAnswer> {
  const u = new URL('/api2/json/cluster/firewall/ipset', p.url);
  const socket = await pinnedSocket(u, p);
  const fingerprint = socket.getPeerCertificate().fingerprint256 ?? '';
  const headers: Record<string, string> = { host: u.host };
  if (p.tokenId && p.tokenSecretFile) {
    const secret = readFileSync(p.tokenSecretFile, 'utf8').trim();
    rememberSecret(secret);
    headers.authorization = `PVEAPIToken=${p.tokenId}=${secret}`;
  }
  return new Promise((resolve, reject) => {
    const req = request({ method: 'GET', path: u.pathname, headers, createConnection: () => socket, timeout: p.timeoutMs ?? 5000 }, (res) => {
      res.resume();
      res.on('end', () => {
        socket.destroy();
        const date = res.headers.date ? new Date(res.headers.date) : undefined;
        resolve({ status: res.statusCode ?? 0, fingerprint, ...(date && !Number.isNaN(date.getTime()) ? { date } : {}) });
      });
    });
    req.on('timeout', () => req.destroy(new ProbeError('E_PROBE_TIMEOUT', `${u.host}: no answer within ${p.timeoutMs ?? 5000} ms`)));
    req.on('error', (e) => reject(e instanceof ProbeError ? e : new ProbeError('E_PROBE_HTTP', `${u.host}: ${e.message}`)));
    req.end();
  });
}

/** `timedatectl show -p NTPSynchronized`: true/false, or undefined when there is no systemd. */
export async function ntpSynchronized(run: Runner): Promise<boolean | undefined> {
  try {
    const { stdout } = await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeoutMs: 5000 });
    const v = stdout.trim();
    return v === 'yes' ? true : v === 'no' ? false : undefined;
  } catch {
    return undefined;
  }
}
