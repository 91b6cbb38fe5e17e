/**
 * The host config, read the cheap way: the hook runs on fail2ban's critical path, and the
 * full loader (controller/config/host-config.ts) brings a YAML parser and every generated schema
 * validator with it. The config is a flat `key: value` file, so this reader parses that
 * shape itself and accepts only settings that are plainly valid under
 * schemas/config.schema.json. Anything else — other YAML, an unknown key, a wrong type —
 * goes to the full loader, so every message about a bad config comes from one place.
 * test/controller/config/flat-reader.test.ts checks both paths give the same HostConfig.
 */
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { readConfigText } from './read-text.js';
import type { HostConfig } from './host-config.js';

/** Same as controller/config/host-config.ts, without loading it. */
export function hostConfigPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.FAIL2GIT_CONFIG ?? '/etc/fail2git/config.yaml';
}

/** Same as controller/config/host-config.ts `spoolPath`, without loading it. */
export function spoolDir(cfg: Pick<HostConfig, 'stateDir'>): string {
  return join(cfg.stateDir, 'spool');
}

const LINE = /^([A-Za-z][A-Za-z0-9]*):[ \t]*(.*?)[ \t]*$/;
const PLAIN = /^[^\s'"{}[\]&*!|>%@`#,?:-][^#]*$/;

function scalar(raw: string): string | boolean | null | undefined {
  const text = raw.replace(/[ \t]+#.*$/, '');
  if (text === '') return null;
  if (text === 'true' || text === 'false') return text === 'true';
  const dq = /^"([^"\\]*)"$/.exec(text);
  if (dq) return dq[1];
  const sq = /^'([^']*)'$/.exec(text);
  if (sq) return sq[1];
  // Things YAML would read as something other than a plain string go to the full parser.
  if (!PLAIN.test(text) || /: /.test(text) || /^(null|~|yes|no|on|off|[-+.0-9][-+.0-9eE_:xXoObB]*)$/i.test(text)) return undefined;
  return text;
}

/** Pure: the settings of a flat config, or null when only the full YAML parser can tell. */
export function parseFlatConfig(text: string): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const line of text.replace(/^\uFEFF/, '').split('\n')) {
    const t = line.replace(/\r$/, '');
    if (/^\s*(#.*)?$/.test(t) || t === '---') continue;
    const m = LINE.exec(t);
    if (!m) return null;
    const v = scalar(m[2]!);
    if (v === undefined || Object.hasOwn(out, m[1]!)) return null;
    if (v !== null) out[m[1]!] = v;
  }
  return out;
}

const STRINGS = ['remote', 'branch', 'host', 'stateDir', 'signingKey', 'allowedSigners', 'adminSigners', 'interval', 'metricsFile'];
const HOST = /^[A-Za-z0-9._-]+$/;
const INTERVAL = /^([0-9]+(ms|s|m|h|d|w))+$/;

/** Pure: settings that are certainly valid (a subset of what the schema accepts), or false. */
export function plainlyValid(o: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(o)) {
    if (k === 'requireSignedCommits') {
      if (typeof v !== 'boolean') return false;
    } else if (!STRINGS.includes(k) || typeof v !== 'string' || v === '') {
      return false;
    }
  }
  if (typeof o.remote !== 'string') return false;
  if (o.host !== undefined && !HOST.test(o.host as string)) return false;
  if (o.interval !== undefined && !INTERVAL.test(o.interval as string)) return false;
  if (o.requireSignedCommits === true && o.allowedSigners === undefined) return false;
  return true;
}

/** The HostConfig for plainly valid settings: the defaults controller/config/host-config.ts fills in. */
function build(o: Record<string, unknown>, path: string): HostConfig | null {
  const str = (k: string) => o[k] as string | undefined;
  const host = str('host') ?? hostname();
  if (!HOST.test(host)) return null;
  const stateDir = resolve(dirname(path), str('stateDir') ?? '/var/lib/fail2git');
  const cfg: HostConfig = {
    remote: str('remote')!,
    branch: str('branch') ?? 'main',
    host,
    stateDir,
    requireSignedCommits: o.requireSignedCommits === true,
    interval: str('interval') ?? '30s',
    metricsFile: str('metricsFile') ?? join(stateDir, 'fail2git.prom'),
    path,
  };
  if (str('signingKey')) cfg.signingKey = str('signingKey')!;
  if (str('allowedSigners')) cfg.allowedSigners = str('allowedSigners')!;
  if (str('adminSigners')) cfg.adminSigners = str('adminSigners')!;
  return cfg;
}

/** Loads the host config: the fast reader when it can, the full loader otherwise. */
export async function readHostConfig(path: string): Promise<HostConfig> {
  const text = readConfigText(path);
  const flat = parseFlatConfig(text);
  const fast = flat && plainlyValid(flat) ? build(flat, path) : null;
  if (fast) return fast;
  const { loadHostConfig } = await import('./host-config.js');
  return loadHostConfig(path);
}
