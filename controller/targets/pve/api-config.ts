/**
 * Options of the pve-api driver, checked at construction with the drivers' shared reader
 * (../utils/options.ts): the URL, the token id, a secret file no one else can read (mode 0600
 * or stricter), and how TLS is verified.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../../lib/errors.js';
import { rememberSecret } from '../../lib/redact.js';
import { normaliseFingerprint, type ApiClientOptions } from './api-client.js';
import { MAX_ENTRIES, options, type OptionReader } from '../utils/options.js';
import { pveIpsetName } from './ipset-name.js';

export interface PveApiOptions {
  client: ApiClientOptions;
  ipset: string;
  concurrency: number;
  retries: number;
  retryBaseMs: number;
  /** log a progress line every this many changes */
  progressEvery: number;
  /** at most this many entries; none by default */
  maxEntries?: number;
}

const KNOWN = ['url', 'tokenId', 'tokenSecretFile', 'fingerprint', 'caFile', 'ipset', 'concurrency', 'retries', 'retryBaseMs', 'timeoutMs', 'progressEvery', MAX_ENTRIES] as const;
const TOKEN_ID = /^[^@\s=]+@[^!\s=]+![A-Za-z][A-Za-z0-9.\-_]+$/;

export function pveApiOptions(target: string, raw: Record<string, unknown>): PveApiOptions {
  const o = options(target, 'pve-api', raw).only(KNOWN);
  const tokenId = o.optionalString('tokenId') ?? o.fail('option tokenId is required (USER@REALM!TOKENID)');
  if (!TOKEN_ID.test(tokenId)) o.fail(`option tokenId: ${JSON.stringify(tokenId)} is not USER@REALM!TOKENID`);
  const secretFile = o.optionalString('tokenSecretFile') ?? o.fail('option tokenSecretFile is required');
  const fingerprintText = o.optionalString('fingerprint');
  const caFile = o.optionalString('caFile');
  if (fingerprintText && caFile) o.fail('give either "fingerprint" or "caFile", not both');
  const fingerprint = fingerprintText === undefined ? undefined : normaliseFingerprint(fingerprintText) ?? o.fail('option fingerprint must be a SHA-256 fingerprint (64 hex digits, colons allowed)');
  const concurrency = o.number('concurrency', 1, 1);
  const maxEntries = o.maxEntries();
  return {
    ...(maxEntries !== undefined && { maxEntries }),
    client: {
      baseUrl: apiBase(o.optionalString('url') ?? 'https://localhost:8006', o),
      tokenId,
      secret: readSecret(target, secretFile),
      ...(fingerprint ? { fingerprint } : {}),
      ...(caFile ? { ca: readCa(target, caFile) } : {}),
      timeoutMs: o.number('timeoutMs', 1, 30_000),
      maxSockets: concurrency,
    },
    ipset: pveIpsetName(o, 'ipset', 'fail2ban'),
    concurrency,
    retries: o.number('retries', 0, 5),
    retryBaseMs: o.number('retryBaseMs', 0, 200),
    progressEvery: o.number('progressEvery', 1, 100),
  };
}

/** `https://pve1:8006` or `…/api2/json`: always ends in `/api2/json`, never in a slash. */
function apiBase(url: string, o: OptionReader): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return o.fail(`option url: ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'https:') o.fail('option url must be https:// (Proxmox serves the API over TLS only)');
  if (parsed.username || parsed.password || parsed.search) o.fail('option url must not carry credentials or a query; use tokenSecretFile');
  const base = url.replace(/\/+$/, '');
  return base.endsWith('/api2/json') ? base : `${base}/api2/json`;
}

function readSecret(target: string, path: string): string {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode & 0o777;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('E_TARGET_SECRET', `target ${target}: cannot read token secret file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError('E_TARGET_SECRET_MODE', `target ${target}: token secret file ${path} is mode ${mode.toString(8).padStart(4, '0')}; others can read it, run chmod 600 ${path}`);
  }
  const secret = text.trim();
  rememberSecret(secret);
  if (secret === '' || /\s/.test(secret)) throw new ConfigError('E_TARGET_SECRET', `target ${target}: token secret file ${path} must hold the secret on one line`);
  return secret;
}

function readCa(target: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('E_TARGET_CA', `target ${target}: cannot read caFile ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
