/**
 * Secrets never leave the host (DESIGN "Who decides what"): the one place that strips them
 * from text. Two parts:
 *  - patterns for secrets of any value: URL credentials, secret-looking query parameters,
 *    a Proxmox `PVEAPIToken=ID=SECRET` header;
 *  - the actual secret values this process knows, remembered where they are read (a token
 *    secret file, the remote URL's password) and replaced wherever they appear, whatever a
 *    server, a proxy or git echoes them in.
 * Every log line, error message, status.json, metrics file and fleet record passes through
 * redact() before it is written.
 */

const REPLACEMENT = '***';
/** Shorter values would match everywhere; they are no secret worth the name. */
export const MIN_SECRET_LENGTH = 3;

const known = new Set<string>();
let matcher: RegExp | undefined;

/** Remembers a secret value (and the forms it takes escaped in JSON or a URL) so redact() removes it. */
export function rememberSecret(value: string | undefined): void {
  if (value === undefined) return;
  const forms = new Set([value, value.trim(), JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]);
  try {
    forms.add(decodeURIComponent(value));
  } catch {
    /* not percent-encoded */
  }
  let added = false;
  for (const f of forms) {
    if (f.length >= MIN_SECRET_LENGTH && !known.has(f)) {
      known.add(f);
      added = true;
    }
  }
  if (added) matcher = undefined;
}

/**
 * Remembers the credentials inside a URL: the password of `scheme://user:password@host`, and
 * for http(s) a lone user part too (`https://TOKEN@host` is how tokens ride in git URLs).
 */
export function rememberUrlCredentials(url: string): void {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/@\s]+)@/i.exec(url);
  if (!m) return;
  const [, scheme, userinfo] = m as unknown as [string, string, string];
  const colon = userinfo.indexOf(':');
  if (colon >= 0) rememberSecret(userinfo.slice(colon + 1));
  else if (/^https?$/i.test(scheme)) rememberSecret(userinfo);
}

/** For tests: forget every remembered value. */
export function forgetSecrets(): void {
  known.clear();
  matcher = undefined;
}

function knownMatcher(): RegExp | undefined {
  if (known.size === 0) return undefined;
  if (!matcher) {
    // Longest first, so a value containing another is replaced whole.
    const alts = [...known].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    matcher = new RegExp(alts.join('|'), 'g');
  }
  return matcher;
}

/** Strips secrets from a text: every remembered value, URL credentials, query secrets, PVE tokens. */
export function redact(text: string): string {
  const m = knownMatcher();
  const out = m ? text.replace(m, REPLACEMENT) : text;
  return out
    .replace(/(PVEAPIToken=[^=\s]+=)[^\s"']+/g, '$1***')
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@')
    .replace(/(\?[^\s#]*)(token|secret|password|key)=[^&\s#]+/gi, '$1$2=***');
}

/** A copy of a JSON-like value with every string redacted (keys are ours and stay). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
