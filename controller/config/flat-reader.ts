/**
 * The cheap mode of the host config reader (`loadHostConfig(path, { cheap: true })` in
 * ./host-config.ts): the hook runs on fail2ban's critical path, and the full check
 * (./validate.ts) brings a YAML parser and every generated schema validator with it. The
 * config is a flat `key: value` file, so this parses that shape itself and accepts only
 * settings that are plainly valid under schemas/config.schema.json. Anything else — other
 * YAML, an unknown key, a wrong type — goes to the full check, so every message about a bad
 * config comes from one place, and the defaults are filled in by host-config.ts either way.
 * Pure; test/controller/config/flat-reader.test.ts checks both modes give the same HostConfig.
 */
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
    if (k === 'requireSignedCommits' || k === 'publishStatus') {
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
