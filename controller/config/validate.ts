/**
 * The full check of a host config against schemas/config.schema.json, with one message per
 * mistake. Loaded by controller/config/load.ts only when a config is not plainly valid
 * (or not read in the hook's cheap mode): it brings the YAML parser and the schema validators.
 */
import { ConfigError } from '../lib/errors.js';
import { schemaRawErrors, type AjvError } from '../ledger/schema-check.js';
import { settingsToHostConfig, type HostConfig } from './host-config.js';

const KNOWN = new Set(['remote', 'branch', 'host', 'stateDir', 'signingKey', 'requireSignedCommits', 'publishStatus', 'allowedSigners', 'adminSigners', 'interval', 'metricsFile', 'writablePaths', 'pveCredentials', 'serve', 'wake']);

/** A host config's text (any YAML) → the checked HostConfig. */
export async function parseHostConfigText(text: string, path: string): Promise<HostConfig> {
  // The ledger's YAML reader (strict, unique keys, positions), loaded only when needed. A
  // local module, not the yaml package itself: a bundle's dynamic import of a CommonJS package
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
  if (key.startsWith('writablePaths') || key.startsWith('pveCredentials') || key.startsWith('serve') || key.startsWith('wake')) return describeNested(e, key);
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
      return `"${key}" is not valid (${key === 'wake.url' ? 'http(s)://HOST[:PORT] without credentials or path' : key.endsWith('url') ? 'https://HOST[:PORT] without credentials' : key.endsWith('tokenId') ? 'USER@REALM!TOKENID' : key.endsWith('fingerprint') ? '64 hex digits, colons allowed' : 'bad format'})`;
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
  return settingsToHostConfig(o, path);
}
