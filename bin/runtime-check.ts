/**
 * The oldest Node fail2git runs on: Debian 12, Ubuntu 24.04 and Proxmox VE 8 ship 18.19/18.20.
 * Imported first by the CLI entry, so an older Node gets one line instead of a syntax error or
 * a missing-API crash deep inside a command (fail2ban logs that line, and the exit is non-zero).
 */
export const MIN_NODE = '18.19.0';

/** `version` (like `18.20.4` or `v16.20.2`) is older than `min`. */
export function nodeTooOld(version: string, min: string = MIN_NODE): boolean {
  const parse = (v: string) => v.replace(/^v/, '').split(/[.-]/).slice(0, 3).map((p) => Number.parseInt(p, 10) || 0);
  const have = parse(version);
  const need = parse(min);
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) !== (need[i] ?? 0)) return (have[i] ?? 0) < (need[i] ?? 0);
  }
  return false;
}

/** The refusal line, or undefined when this Node is new enough. */
export function nodeRefusal(version: string, execPath: string): string | undefined {
  if (!nodeTooOld(version)) return undefined;
  return `fail2git: needs Node.js ${MIN_NODE.replace(/\.0$/, '')} or newer, but ${execPath} is ${version.replace(/^v?/, 'v')}; ` +
    'install your distribution\'s nodejs (Debian 12, Ubuntu 24.04 and Proxmox VE 8 ship 18.19 or newer)';
}

const refusal = nodeRefusal(process.versions.node, process.execPath);
if (refusal) {
  process.stderr.write(refusal + '\n');
  process.exit(1);
}
