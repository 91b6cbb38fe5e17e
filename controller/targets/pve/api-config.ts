/**
 * Options of the pve-api driver, checked at construction: the URL, the token id, a secret
 * file no one else can read (mode 0600 or stricter), and how TLS is verified.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../../lib/errors.js';
import { rememberSecret } from '../../lib/redact.js';
import { normaliseFingerprint, type ApiClientOptions } from './api-client.js';
import { OptionReader } from './options.js';

export interface ApiTargetConfig {
  client: ApiClientOptions;
  ipset: string;
  concurrency: number;
  retries: number;
  retryBaseMs: number;
  /** log a progress line every this many changes */
  progressEvery: number;
}

const KNOWN = ['url', 'tokenId', 'tokenSecretFile', 'fingerprint', 'caFile', 'ipset', 'concurrency', 'retries', 'retryBaseMs', 'timeoutMs', 'progressEvery'] as const;
const TOKEN_ID = /^[^@\s=]+@[^!\s=]+![A-Za-z][A-Za-z0-9.\-_]+$/;

export function readApiConfig(target: string, options: Record<string, unknown>): ApiTargetConfig {
  const o = new OptionReader(target, options, KNOWN);
  const tokenId = o.str('tokenId') ?? o.fail('option "tokenId" is required (USER@REALM!TOKENID)');
  if (!TOKEN_ID.test(tokenId)) o.fail(`option "tokenId": ${JSON.stringify(tokenId)} is not USER@REALM!TOKENID`);
  const secretFile = o.str('tokenSecretFile') ?? o.fail('option "tokenSecretFile" is required');
  const fingerprintText = o.str('fingerprint');
  const caFile = o.str('caFile');
  if (fingerprintText && caFile) o.fail('give either "fingerprint" or "caFile", not both');
  const fingerprint = fingerprintText === undefined ? undefined : normaliseFingerprint(fingerprintText) ?? o.fail('option "fingerprint" must be a SHA-256 fingerprint (64 hex digits, colons allowed)');
  const concurrency = o.num('concurrency', 1) ?? 1;
  return {
    client: {
      baseUrl: apiBase(o.str('url') ?? 'https://localhost:8006', o),
      tokenId,
      secret: readSecret(target, secretFile),
      ...(fingerprint ? { fingerprint } : {}),
      ...(caFile ? { ca: readCa(target, caFile) } : {}),
      timeoutMs: o.num('timeoutMs', 1) ?? 30_000,
      maxSockets: concurrency,
    },
    ipset: o.ipsetName('ipset', 'fail2ban'),
    concurrency,
    retries: o.num('retries', 0) ?? 5,
    retryBaseMs: o.num('retryBaseMs', 0) ?? 200,
    progressEvery: o.num('progressEvery', 1) ?? 100,
  };
}

/** `https://pve1:8006` or `…/api2/json`: always ends in `/api2/json`, never in a slash. */
function apiBase(url: string, o: OptionReader): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return o.fail(`option "url": ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'https:') o.fail('option "url" must be https:// (Proxmox serves the API over TLS only)');
  if (parsed.username || parsed.password || parsed.search) o.fail('option "url" must not carry credentials or a query; use tokenSecretFile');
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
