/**
 * The ledger's document kinds, as TypeScript sees them after schema validation.
 * The JSON Schemas in `schemas/` are the source of truth for what a file may contain;
 * these types describe the parsed, validated result.
 */
export const API_VERSION = 'fail2git/v1';

export const LEDGER_FILES = {
  bans: 'bans/active.yaml',
  allow: 'bans/allow.yaml',
  policy: 'bans/policy.yaml',
  targets: 'bans/targets.yaml',
} as const;

export interface BanEntry {
  /** canonical CIDR key (see controller/net/cidr.ts) */
  cidr: string;
  /** RFC 3339 UTC; absent = permanent */
  expires?: string;
  /** RFC 3339 UTC: when the ban was (last) made */
  at?: string;
  /** host or person */
  by?: string;
  jail?: string;
  reason?: string;
  /** offences so far (repeat-offender escalation) */
  count?: number;
}

export interface BanList {
  apiVersion: typeof API_VERSION;
  kind: 'BanList';
  bans: BanEntry[];
}

export interface AllowEntry {
  cidr: string;
  reason?: string;
}

export interface AllowList {
  apiVersion: typeof API_VERSION;
  kind: 'AllowList';
  allow: AllowEntry[];
}

export interface PrefixLimits {
  ipv4: number;
  ipv6: number;
}

export interface PolicySpec {
  /** TTL for `fail2git ban` without --ttl, and for hook bans without a bantime; e.g. `1h` */
  defaultTtl: string;
  /** nothing broader than this is enforced (default /8 and /32) */
  broadestPrefix: PrefixLimits;
  /** a single address from a hook is banned at this prefix (e.g. IPv6 /64) */
  banPrefix: PrefixLimits;
  /** refuse a plan removing more than this from one target in one run; `50%` or a count */
  maxRemovePerRun: string | number;
  /** repeat offenders: ttl = base × factor^(count−1), capped at maxTtl */
  escalation: { factor: number; maxTtl: string } | null;
  /**
   * the longest ban a writer (a fail2ban host's key) may write, permanent ones included: a
   * hook's `bantime = -1` is capped at it. Absent: permanent bans are allowed, finite ones
   * are capped at ten years.
   */
  maxTtl?: string;
  /** host that runs `gc` after its reconcile runs (none = manual/timer) */
  gcHost?: string;
  /** how long after expiry gc keeps a line */
  gcGrace: string;
}

export interface Policy {
  apiVersion: typeof API_VERSION;
  kind: 'Policy';
  spec: Partial<PolicySpec>;
}

export const DEFAULT_POLICY: PolicySpec = {
  defaultTtl: '1h',
  broadestPrefix: { ipv4: 8, ipv6: 32 },
  banPrefix: { ipv4: 32, ipv6: 128 },
  maxRemovePerRun: '50%',
  escalation: null,
  gcGrace: '1h',
};

/** The longest TTL any ban gets when the policy sets no `escalation.maxTtl`: ten years (seconds). */
export const MAX_TTL_S = 10 * 365 * 86_400;

export type DriverName = 'ipset' | 'nftables' | 'route' | 'file' | 'pve-clusterfw' | 'pve-api';

export interface TargetDoc {
  apiVersion: typeof API_VERSION;
  kind: 'Target';
  metadata: { name: string };
  spec: {
    driver: DriverName;
    /** glob patterns on the host name; absent = every host */
    hosts?: string[];
    options?: Record<string, unknown>;
  };
}

/** Where a document or entry came from, for `file:line:col` messages. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export interface Problem extends SourcePos {
  /** stable code, e.g. E_CIDR_SYNTAX, E_SCHEMA, E_DUPLICATE, E_ALLOW_OVERLAP, E_YAML */
  code: string;
  message: string;
}

/** A loaded, validated ledger with the policy defaults filled in. */
export interface Ledger {
  bans: BanEntry[];
  allow: AllowEntry[];
  policy: PolicySpec;
  targets: TargetDoc[];
  /** where it was read from: a directory, or a git commit */
  source: { dir: string; rev?: string };
}

/** Result of loading: a ledger is only usable when `problems` is empty. */
export interface LoadResult {
  ledger: Ledger;
  problems: Problem[];
  /**
   * Findings that do not make the ledger unusable (a ban overlapping the allowlist, a ban
   * broader than the policy allows): desiredSet skips those bans. `validate` reports them
   * and exits 1; the reconciler enforces the rest.
   */
  warnings?: Problem[];
}

/** Formats a problem as the one-line `file:line:col: message` every command prints. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}
