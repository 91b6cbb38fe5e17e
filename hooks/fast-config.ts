/**
 * The host config, read without loading a YAML parser: the hook runs on fail2ban's
 * critical path, and the config is a flat `key: value` file. Any line this reader does not
 * understand sends the whole file to the full loader (controller/config.ts), so both paths
 * accept the same files and report the same problems.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../controller/errors.js';
import { loadHostConfig, validateHostConfig, type HostConfig } from '../controller/config.js';

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

/** Loads the host config: the fast reader when it can, the full loader otherwise. */
export async function readHostConfig(path: string): Promise<HostConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError('E_CONFIG_MISSING', `${path}: cannot read host config (${code ?? 'error'}); create it or pass --config FILE`);
  }
  const flat = parseFlatConfig(text);
  return flat ? validateHostConfig(flat, path) : loadHostConfig(path);
}
