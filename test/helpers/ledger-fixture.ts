/**
 * Small ledgers for reconciler tests: bans with optional expiry, Target documents with
 * host globs, and a policy. Written as the canonical layout the real writers produce.
 */
export interface FixtureBan {
  cidr: string;
  expires?: Date | string;
}

export interface FixtureTarget {
  name: string;
  driver?: string;
  hosts?: string[];
  options?: Record<string, unknown>;
}

const iso = (d: Date | string): string => (typeof d === 'string' ? d : d.toISOString().replace(/\.\d{3}Z$/, 'Z'));
const quote = (cidr: string): string => (cidr.includes(':') ? JSON.stringify(cidr) : cidr);

export function banList(bans: readonly FixtureBan[]): string {
  const lines = bans.map((b) => {
    const exp = b.expires ? `, expires: ${iso(b.expires)}` : '';
    return `  - {cidr: ${quote(b.cidr)}${exp}, at: 2026-01-01T00:00:00Z, by: test, jail: sshd}`;
  });
  return ['apiVersion: fail2git/v1', 'kind: BanList', lines.length ? 'bans:' : 'bans: []', ...lines, ''].join('\n');
}

export function targetDocs(targets: readonly FixtureTarget[]): string {
  return targets
    .map((t) => {
      const lines = ['apiVersion: fail2git/v1', 'kind: Target', `metadata: {name: ${t.name}}`, 'spec:', `  driver: ${t.driver ?? 'file'}`];
      if (t.hosts) lines.push(`  hosts: [${t.hosts.map((h) => JSON.stringify(h)).join(', ')}]`);
      const options = t.options ?? { path: `/nonexistent/fail2git-${t.name}.txt` };
      lines.push(`  options: ${JSON.stringify(options)}`);
      return lines.join('\n') + '\n';
    })
    .join('---\n');
}

export function policy(spec: Record<string, unknown> = {}): string {
  return `apiVersion: fail2git/v1\nkind: Policy\nspec: ${JSON.stringify(spec)}\n`;
}

export function allowList(cidrs: readonly string[] = []): string {
  const lines = cidrs.map((c) => `  - {cidr: ${quote(c)}, reason: test}`);
  return ['apiVersion: fail2git/v1', 'kind: AllowList', lines.length ? 'allow:' : 'allow: []', ...lines, ''].join('\n');
}

/** The four ledger files. */
export function ledgerFiles(opts: { bans?: FixtureBan[]; targets?: FixtureTarget[]; policy?: Record<string, unknown>; allow?: string[] }): Record<string, string> {
  return {
    'bans/active.yaml': banList(opts.bans ?? []),
    'bans/allow.yaml': allowList(opts.allow),
    'bans/policy.yaml': policy(opts.policy),
    'bans/targets.yaml': targetDocs(opts.targets ?? [{ name: 'alpha' }]),
  };
}
