/**
 * The host's own config (`/etc/fail2git/config.yaml`): where the ledger lives and who
 * this host is. Never in the ledger: secrets and trust stay on the host.
 */
import { hostname } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { readConfigText } from './read-text.js';
import { schemaRawErrors, type AjvError } from '../ledger/schema-check.js';

export const DEFAULT_CONFIG_PATH = '/etc/fail2git/config.yaml';

export interface HostConfig {
  /** any git URL: a path, file://, ssh, https, git:// */
  remote: string;
  branch: string;
  host: string;
  stateDir: string;
  /** SSH key used to sign commits (gpg.format=ssh) */
  signingKey?: string;
  requireSignedCommits: boolean;
  /** ssh-keygen allowed_signers file */
  allowedSigners?: string;
  /** reconcile interval, e.g. `30s` */
  interval: string;
  /** Prometheus textfile path; default `<stateDir>/fail2git.prom` */
  metricsFile: string;
  /** ssh allowed_signers file of the people who may change allow/policy/targets (admins) */
  adminSigners?: string;
  /** files targets may write, as written (absolute); absent = the defaults of writableEntries() */
  writablePaths?: WritablePaths;
  /** Proxmox API endpoints and tokens by name (a pve-api Target names one) */
  pveCredentials?: Record<string, PveCredential>;
  /** file this config was read from */
  path: string;
}

/** `writablePaths`: per driver, files (`/x/y.txt`) or directories (`/x/`) a target may write. */
export interface WritablePaths {
  file?: string[];
  'pve-clusterfw'?: string[];
}

/** One `pveCredentials` entry: where the API is, which token, and how TLS is verified. */
export interface PveCredential {
  url: string;
  tokenId: string;
  tokenSecretFile: string;
  fingerprint?: string;
  caFile?: string;
}

const KNOWN = new Set(['remote', 'branch', 'host', 'stateDir', 'signingKey', 'requireSignedCommits', 'allowedSigners', 'adminSigners', 'interval', 'metricsFile', 'writablePaths', 'pveCredentials']);

export function configPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.FAIL2GIT_CONFIG ?? DEFAULT_CONFIG_PATH;
}

/** Where the host's clone of the ledger lives. */
export function ledgerClonePath(cfg: Pick<HostConfig, 'stateDir'>): string {
  return join(cfg.stateDir, 'ledger');
}

/** Where `file` targets write unless the host config says otherwise (never stateDir itself). */
export function defaultListsDir(cfg: Pick<HostConfig, 'stateDir'>): string {
  return join(cfg.stateDir, 'lists') + '/';
}

export function spoolPath(cfg: Pick<HostConfig, 'stateDir'>): string {
  return join(cfg.stateDir, 'spool');
}

export async function loadHostConfig(path: string): Promise<HostConfig> {
  const text = readConfigText(path);
  // The ledger's YAML reader (strict, unique keys, positions), loaded only when needed. A
  // local module, not `import('yaml')`: a bundle's dynamic import of a CommonJS package
  // loses its named exports (dist/bundle crashed here).
  const { parseYaml } = await import('../ledger/yaml-parse.js');
  const { docs, problems } = parseYaml(text, path);
  const first = problems[0];
  if (first) throw new ConfigError('E_CONFIG_YAML', `${first.file}:${first.line}:${first.col}: ${first.message}`);
  if (docs.length > 1) throw new ConfigError('E_CONFIG_YAML', `${path}: holds ${docs.length} YAML documents; a host config is one`);
  const raw = docs[0]?.value ?? null;
  return validateHostConfig(raw, path);
}

// One message per schema error, worded as this file always worded them.
function describeConfigError(e: AjvError, o: Record<string, unknown>): string {
  const key = e.instancePath.slice(1).replace(/\//g, '.');
  if (key.startsWith('writablePaths') || key.startsWith('pveCredentials')) return describeNested(e, key);
  switch (e.keyword) {
    case 'required':
      return `"${String(e.params.missingProperty)}" is required`;
    case 'additionalProperties':
      return `unknown setting "${String(e.params.additionalProperty)}" (known: ${[...KNOWN].join(', ')})`;
    case 'type':
      return e.params.type === 'boolean' ? `"${key}" must be true or false` : e.params.type === 'object' ? 'must be a mapping of settings' : `"${key}" must be a non-empty string`;
    case 'minLength':
      return `"${key}" must be a non-empty string`;
    case 'pattern':
      return key === 'host' ? `"host" must be a plain host name, got ${JSON.stringify(o.host)}` : `"${key}" must be a duration like 30s or 5m, got ${JSON.stringify(o[key])}`;
    default:
      return `"${key}" ${e.message ?? 'is invalid'}`;
  }
}

// writablePaths / pveCredentials: name the nested key, e.g. "pveCredentials.dc.url".
function describeNested(e: AjvError, key: string): string {
  switch (e.keyword) {
    case 'required':
      return `"${key}.${String(e.params.missingProperty)}" is required`;
    case 'additionalProperties':
      return `unknown setting "${key}.${String(e.params.additionalProperty)}"`;
    case 'propertyNames':
      return `"${key}": credential names are lower-case letters, digits, _ and - (got ${JSON.stringify(e.params.propertyName)})`;
    case 'pattern':
      return `"${key}" is not valid (${key.endsWith('url') ? 'https://HOST[:PORT] without credentials' : key.endsWith('tokenId') ? 'USER@REALM!TOKENID' : key.endsWith('fingerprint') ? '64 hex digits, colons allowed' : 'bad format'})`;
    default:
      return `"${key}" ${e.message ?? 'is invalid'}`;
  }
}

/** Validates settings against schemas/config.schema.json and fills in the defaults. */
export function validateHostConfig(raw: unknown, path: string): HostConfig {
  const fail = (msg: string): never => {
    throw new ConfigError('E_CONFIG_INVALID', `${path}: ${msg}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('must be a mapping of settings');
  // A key written with no value (`branch:`) means "use the default", as it always has.
  const o = Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined));
  const errors = schemaRawErrors('HostConfig', o);
  // Unknown settings first (the likeliest typo), then the rest in schema order.
  const first = errors.find((e) => e.keyword === 'additionalProperties') ?? errors[0];
  if (first) fail(describeConfigError(first, o));
  const str = (k: string): string | undefined => o[k] as string | undefined;
  const remote = str('remote')!;
  const stateDir = resolve(dirname(path), str('stateDir') ?? '/var/lib/fail2git');
  const cfg: HostConfig = {
    remote,
    branch: str('branch') ?? 'main',
    host: str('host') ?? hostname(),
    stateDir,
    requireSignedCommits: o.requireSignedCommits === true,
    interval: str('interval') ?? '30s',
    metricsFile: str('metricsFile') ?? join(stateDir, 'fail2git.prom'),
    path,
  };
  const signingKey = str('signingKey');
  if (signingKey) cfg.signingKey = signingKey;
  const allowedSigners = str('allowedSigners');
  if (allowedSigners) cfg.allowedSigners = allowedSigners;
  const adminSigners = str('adminSigners');
  if (adminSigners) cfg.adminSigners = adminSigners;
  const base = dirname(path);
  if (o.writablePaths) {
    const w = o.writablePaths as WritablePaths;
    cfg.writablePaths = Object.fromEntries(Object.entries(w).map(([k, list]) => [k, ((list as string[] | undefined) ?? []).map((p: string) => keepSlash(p, resolve(base, p)))]));
  }
  if (o.pveCredentials) {
    cfg.pveCredentials = Object.fromEntries(Object.entries(o.pveCredentials as Record<string, PveCredential>).map(([k, c]) => [k, {
      ...c, tokenSecretFile: resolve(base, c.tokenSecretFile), ...(c.caFile ? { caFile: resolve(base, c.caFile) } : {}),
    }]));
  }
  if (cfg.requireSignedCommits && !cfg.allowedSigners) fail('"requireSignedCommits: true" needs "allowedSigners: PATH"');
  // The system host name is not checked by the schema (it is not in the file).
  if (!/^[A-Za-z0-9._-]+$/.test(cfg.host)) fail(`"host" must be a plain host name, got ${JSON.stringify(cfg.host)}`);
  return cfg;
}

// `dir/` names a directory; resolve() drops the slash that says so.
const keepSlash = (raw: string, abs: string): string => (raw.endsWith('/') && abs !== '/' ? `${abs}/` : abs);
