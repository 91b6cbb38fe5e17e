/** Which Target documents apply to a host: glob patterns on its name (`spec.hosts`). */

/** Glob patterns (`*`, `?`, `[abc]`, `[!abc]`, `[a-z]`) on the host name; no patterns = every host. */
export function hostMatches(patterns: readonly string[] | undefined, host: string): boolean {
  if (!patterns) return true;
  return patterns.some((p) => {
    try {
      return globToRegExp(p).test(host);
    } catch {
      return p === host; // a malformed class such as `[z-a]`: no host matches it but its own text
    }
  });
}

const escapeRe = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    const close = ch === '[' ? glob.indexOf(']', i + 2) : -1;
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (close > 0) {
      // A class: `!` negates; only `-` ranges keep their meaning, everything else is literal.
      const body = glob.slice(i + 1, close);
      const neg = body.startsWith('!');
      re += `[${neg ? '^' : ''}${(neg ? body.slice(1) : body).replace(/[\\\]^[]/g, '\\$&')}]`;
      i = close;
    } else re += escapeRe(ch);
  }
  return new RegExp(`^${re}$`);
}

