/**
 * Typed errors. Every error fail2git raises on purpose carries a stable `code`
 * so callers (the CLI, the reconciler, tests) branch on the code, never on text.
 * `message` is always one line a person can act on, and never contains secrets.
 */
import { redact } from './redact.js';

// The one redaction home is ./redact.ts; re-exported because every error path needs it.
export { redact };

/** What a caller (or a person) does next about an error. */
export type NextStep =
  /** a person fixes their command or the ledger; nothing was changed */
  | 'fix the input'
  /** the host's own setup (config, programs, permissions, files); run `fail2git doctor` */
  | 'fix the host'
  /** transient: fail2git tries again by itself (next flush, next run) */
  | 'retry'
  /** reconcile keeps enforcing the last good state until a person acts */
  | 'hold';

/**
 * Every code fail2git reports, thrown errors and ledger problems alike, with what happens
 * next. A code not in this table fails the build (ErrorCode) and
 * test/architecture/error-codes.test.ts. docs/errors.md is this table for people.
 */
export const ERROR_CODES = {
  E_USAGE: { next: 'fix the input', means: 'a command line fail2git cannot read; the help says how (exit 2)' },
  E_DURATION: { next: 'fix the input', means: 'a duration that is not like 30s, 1h30m or 7d' },
  E_CIDR: { next: 'fix the input', means: '`ban`/`unban` got an address or network that does not parse' },
  E_PLAN_FILE: { next: 'fix the input', means: 'the file given to `reconcile --plan` is not a saved plan, or is for another host' },
  E_PLAN_STALE: { next: 'fix the input', means: 'a saved plan no longer matches what the run would do (another commit, or the target changed); nothing applied to that target: plan again' },
  E_BLOCKLIST: { next: 'fix the input', means: 'a `--from-file` blocklist is unreadable, empty or has a line that is not one address or CIDR; nothing spooled' },
  E_BULK_GUARD: { next: 'fix the input', means: 'a bulk unban selects more than the removal guard (`maxRemovePerRun`) allows; narrow it or pass --force' },
  E_BY: { next: 'fix the input', means: '`--by` is empty or not printable text' },
  E_REASON: { next: 'fix the input', means: '`--reason` is empty, several lines or not printable text' },
  E_TTL: { next: 'fix the input', means: 'more than one of --ttl, --until, --permanent' },
  E_HOOK_ARGS: { next: 'fix the input', means: 'fail2ban\'s action passed a missing or malformed tag; check hooks/fail2ban/fail2git.conf; nothing spooled' },
  E_HOOK_IP: { next: 'fix the input', means: 'the hook got an address that does not parse; nothing spooled' },
  E_HOOK_TIME: { next: 'fix the input', means: 'the hook\'s --time is far ahead of this host\'s clock; fix the clocks; nothing spooled' },
  E_AUDIT_QUERY: { next: 'fix the input', means: '`audit` got an address or network that does not parse' },
  E_AUDIT_REPO: { next: 'fix the input', means: '`audit` was pointed at a directory that does not exist' },
  E_INIT_EXISTS: { next: 'fix the input', means: '`init` refuses a directory that is not empty; nothing overwritten' },
  E_INIT_NOT_LEDGER: { next: 'fix the input', means: '`init --update-ci` needs an existing ledger (a bans/ directory)' },
  E_INIT_NO_BUILD: { next: 'fix the host', means: '`init` found no single-file build of fail2git to put in CI; run npm run build or install the package' },
  E_LEDGER_MISSING: { next: 'fix the input', means: 'the directory given as the ledger has no bans/; pass --ledger DIR' },
  E_NOT_GIT: { next: 'fix the input', means: '--rev needs a git repository; the directory is not one' },
  E_REV: { next: 'fix the input', means: 'the revision is not a commit in the clone; fetch it first' },
  E_REV_UNKNOWN: { next: 'fix the input', means: 'the text given is not a git revision' },
  E_GC_GRACE: { next: 'fix the input', means: 'the policy\'s gcGrace is not a duration; gc did nothing' },
  E_EXPORT_WRITE: { next: 'fix the host', means: '`export --output` could not write the file; the old one is unchanged' },
  E_LEDGER_WRITE: { next: 'fix the host', means: '`fmt` could not write a ledger file; the file is left unchanged' },
  E_CONFIG_MISSING: { next: 'fix the host', means: 'the host config cannot be read; create it or pass --config FILE' },
  E_CONFIG_YAML: { next: 'fix the host', means: 'the host config is not valid YAML (file:line:col); nothing runs until it is fixed' },
  E_CONFIG_INVALID: { next: 'fix the host', means: 'the host config breaks schemas/config.schema.json (one setting named); nothing runs until it is fixed' },
  E_CONFIG_STATEDIR: { next: 'fix the host', means: 'stateDir (or the metrics file\'s directory, or a writablePaths entry) is not a directory, or lies under /proc, /sys or another kernel pseudo-filesystem; nothing runs until it is moved' },
  E_LEDGER_INVALID: { next: 'hold', means: 'the ledger has problems (file:line each); reconcile keeps enforcing the last good commit' },
  E_LEDGER_READ: { next: 'fix the input', means: 'a ledger file cannot be read or is a symbolic link; the ledger is held as invalid' },
  E_NOT_REGULAR_FILE: { next: 'fix the input', means: 'a ledger path is not a regular file at that commit; the ledger is held as invalid' },
  E_GIT: { next: 'retry', means: 'a git command reading the ledger failed; the next run tries again' },
  E_BOM: { next: 'fix the input', means: 'a ledger file starts with a byte-order mark; `fail2git fmt` removes it' },
  E_CRLF: { next: 'fix the input', means: 'a ledger file has CRLF line endings; `fail2git fmt` converts them' },
  E_CONTROL_CHAR: { next: 'fix the input', means: 'a ledger file holds a control character; remove it' },
  E_ENCODING: { next: 'fix the input', means: 'a ledger file is not UTF-8' },
  E_TOO_LARGE: { next: 'fix the input', means: 'a ledger file is over the size limit; it is not parsed' },
  E_LINE_TOO_LONG: { next: 'fix the input', means: 'a ledger line is over the length limit; it is not parsed' },
  E_NOT_CANONICAL: { next: 'fix the input', means: 'a large BanList leaves the canonical layout; `fail2git fmt` rewrites it' },
  E_YAML_TOO_LARGE: { next: 'fix the input', means: 'a YAML file over the size limit; it is not parsed' },
  E_YAML_DEPTH: { next: 'fix the input', means: 'YAML nested deeper than the limit; it is not parsed' },
  E_YAML: { next: 'fix the input', means: 'YAML syntax error at file:line:col' },
  E_YAML_ALIAS: { next: 'fix the input', means: 'a YAML alias in a ledger file; write the value out' },
  E_DOCUMENTS: { next: 'fix the input', means: 'a ledger file holds the wrong number of YAML documents' },
  E_SCHEMA: { next: 'fix the input', means: 'a ledger document breaks its JSON Schema (schemas/); the field is named' },
  E_CIDR_SYNTAX: { next: 'fix the input', means: 'not an IPv4/IPv6 address or network' },
  E_CIDR_PREFIX: { next: 'fix the input', means: 'a prefix length out of range for the family' },
  E_CIDR_HOST_BITS: { next: 'fix the input', means: 'a network with host bits set; the message suggests the network meant' },
  E_CIDR_ZERO: { next: 'fix the input', means: 'the all-addresses network (0.0.0.0/0, ::/0) is never banned' },
  E_CIDR_SPECIAL: { next: 'fix the input', means: 'a special-purpose address (loopback, link-local, multicast…) is never banned' },
  E_TIME: { next: 'fix the input', means: 'a time that is not RFC 3339 (2026-11-25T10:00:00Z)' },
  E_EXPIRES_BEFORE_AT: { next: 'fix the input', means: 'a ban expires before it was made' },
  E_DUPLICATE: { next: 'fix the input', means: 'the same network or target name twice; the first is at the line named' },
  E_POLICY: { next: 'fix the input', means: 'a policy value out of range (defaultTtl, prefix limits…)' },
  E_HOST_GLOB: { next: 'fix the input', means: 'a target host pattern that does not parse' },
  E_ALLOW_OVERLAP: { next: 'fix the input', means: 'warning: a ban overlaps the allowlist; the allowlisted part is not enforced' },
  E_TOO_BROAD: { next: 'fix the input', means: 'warning: a ban is broader than the policy allows; it is not enforced' },
  E_SIG_UNSIGNED: { next: 'hold', means: 'the tip commit is not signed; reconcile keeps the last good commit' },
  E_SIG_UNKNOWN_KEY: { next: 'hold', means: 'signed by a key not in allowedSigners; reconcile keeps the last good commit' },
  E_SIG_EXPIRED: { next: 'hold', means: 'signed with an expired key; reconcile keeps the last good commit' },
  E_SIG_TYPE: { next: 'hold', means: 'a signature of the wrong type; reconcile keeps the last good commit' },
  E_SIG_DATE: { next: 'hold', means: 'the committer date goes back; reconcile keeps the last good commit' },
  E_SIG_ROLE: { next: 'hold', means: 'a change outside the signer\'s role (admins change allow/policy/targets); held' },
  E_SIG_BAD: { next: 'hold', means: 'the signature does not verify; reconcile keeps the last good commit' },
  E_SIG_IDENTITY: { next: 'hold', means: 'the signer\'s identity does not match the committer; reconcile keeps the last good commit' },
  E_SIG_NOT_DESCENDANT: { next: 'hold', means: 'the new tip does not descend from the last good commit (history rewritten); held' },
  E_SIG_NO_SIGNERS: { next: 'fix the host', means: 'requireSignedCommits without a readable allowedSigners file; held until the host is fixed' },
  E_SIG_GIT: { next: 'retry', means: 'git could not check the signature; the next run tries again' },
  E_FETCH_FAILED: { next: 'retry', means: 'git fetch failed; the last good commit stays enforced and the next run tries again' },
  E_FETCH_STALLED: { next: 'retry', means: 'a ledger fetch made no progress in time and was stopped; the next run tries again' },
  E_REMOTE_UNREACHABLE: { next: 'retry', means: 'the git remote cannot be reached; spooled operations wait and the next flush retries' },
  E_REMOTE_NO_BRANCH: { next: 'fix the host', means: 'the remote has no such branch; check `branch` in the host config (or run `fail2git init`)' },
  E_PUSH_FAILED: { next: 'retry', means: 'git push failed; operations stay in the spool and the next flush retries' },
  E_PUSH_CONTENDED: { next: 'retry', means: 'other writers kept winning the push race; the spool is kept and retried later' },
  E_SPOOL_FULL: { next: 'retry', means: 'the spool disk is full; the operation is not recorded (fail2ban retries on its next ban)' },
  E_SPOOL_WRITE: { next: 'retry', means: 'the operation could not be written to the spool; not recorded' },
  E_SPOOL_READ: { next: 'fix the host', means: 'the spool directory cannot be read (not a directory, permissions); pending operations wait' },
  E_INIT_PUSH: { next: 'retry', means: 'the new ledger was created but not pushed; push it later as the message says' },
  E_RESOLVE_TIMEOUT: { next: 'retry', means: 'a host name to protect did not resolve in time; the other protected sources still apply, the next run tries again' },
  E_GC_BUSY: { next: 'retry', means: 'another gc holds the lock; try again later' },
  E_FLEET_PUBLISH: { next: 'retry', means: 'this host\'s status could not be published; the next run tries again' },
  E_FLEET_FETCH: { next: 'retry', means: 'fleet status could not be fetched; try again' },
  E_EXEC: { next: 'fix the host', means: 'a program could not be started' },
  E_EXEC_MISSING: { next: 'fix the host', means: 'a program is not installed (ipset, nft, ip, git…); install it' },
  E_EXEC_FAILED: { next: 'retry', means: 'a program exited with an error; the message has its stderr; the target retries next run' },
  E_SERVE_KEY: { next: 'fix the host', means: '`serve`: an API key file cannot be read or is not one line of at least 16 characters' },
  E_SERVE_LISTEN: { next: 'fix the host', means: '`serve`: serve.listen is not ADDRESS:PORT, or the port cannot be listened on' },
  E_SERVE_TLS: { next: 'fix the host', means: '`serve`: a TLS certificate or key file cannot be read' },
  E_MIRROR_SECRET: { next: 'fix the host', means: '`serve`: serve.mirror.webhookSecretFile cannot be read or is not one line of at least 16 characters' },
  E_WAKE_KEY: { next: 'fix the host', means: '`reconcile --watch`: wake.keyFile or wake.caFile cannot be read, or the key is not one line of at least 16 characters' },
  E_WAKE_FAILED: { next: 'retry', means: '`reconcile --watch`: the mirror of `wake.url` did not answer (refused, timeout, 403, a bad answer); retried with back-off while the remote is polled at the plain interval' },
  E_WAKE_FETCH: { next: 'retry', means: '`reconcile --watch`: fetching a new tip from the mirror failed; retried with back-off while the remote is polled at the plain interval' },
  E_TARGET_DRIVER: { next: 'fix the input', means: 'a target names an unknown driver; that target alone is skipped' },
  E_TARGET_OPTION: { next: 'fix the input', means: 'a target option is unknown or has the wrong type (target, driver and option named); that target alone is skipped' },
  E_TARGET_NOT_ALLOWED: { next: 'fix the host', means: 'a target wants to write a path or use a credential the host config does not allow; that target alone is skipped' },
  E_TARGET_MIGRATE: { next: 'fix the input', means: 'a target still sets an option the host now owns; move it as the message says' },
  E_TARGET_SECRET: { next: 'fix the host', means: 'the pve-api token secret file cannot be read or is not one line' },
  E_TARGET_SECRET_MODE: { next: 'fix the host', means: 'the pve-api token secret file is readable by others; chmod 600 it' },
  E_TARGET_CA: { next: 'fix the host', means: 'the pve-api caFile cannot be read' },
  E_TARGET_TOOL_MISSING: { next: 'fix the host', means: 'a target\'s program is not installed; that target fails until it is' },
  E_TARGET_IO: { next: 'retry', means: 'a target\'s read or write failed; the target is retried next run, others go on' },
  E_TARGET_SHAPE: { next: 'fix the host', means: 'what the target would replace is not fail2git\'s shape (a directory, a set used by foreign rules); move it as the message says' },
  E_TARGET_FOREIGN_FILE: { next: 'fix the host', means: 'the target file was not written by fail2git; fail2git refuses to replace it' },
  E_TARGET_VERIFY: { next: 'retry', means: 'after apply the target still differs from the plan; retried next run' },
  E_MEMORY_FAULT: { next: 'retry', means: 'a fault injected into the memory driver (tests and the demo)' },
  E_PVE_READ: { next: 'retry', means: 'cluster.fw cannot be read; retried next run' },
  E_PVE_WRITE: { next: 'retry', means: 'cluster.fw cannot be written (no quorum, size limit); the old file is unchanged; retried next run' },
  E_PVE_BOM: { next: 'fix the input', means: 'cluster.fw starts with a byte-order mark; fix the file, fail2git refuses to touch it' },
  E_PVE_CRLF: { next: 'fix the input', means: 'cluster.fw has CRLF line endings; convert it, fail2git refuses to touch it' },
  E_PVE_DUPLICATE_SECTION: { next: 'fix the input', means: 'the managed [IPSET] section appears twice in cluster.fw; merge them by hand' },
  E_PVE_NOT_FW: { next: 'fix the input', means: 'the target path is not a Proxmox .fw file; fail2git refuses to read or write it' },
  E_PVE_TOO_LARGE: { next: 'hold', means: 'the new cluster.fw would exceed maxBytes; nothing written until the list shrinks or the limit grows' },
  E_PVE_LOCK: { next: 'retry', means: 'the Proxmox cluster lock cannot be taken (is the cluster quorate?); retried next run' },
  E_PVE_LOCK_TIMEOUT: { next: 'retry', means: 'someone else holds the cluster firewall lock; retried next run' },
  E_PVE_NETWORK: { next: 'retry', means: 'the Proxmox API cannot be reached; retried' },
  E_PVE_AUTH: { next: 'fix the host', means: 'the Proxmox API refused the token (401); check tokenId and the secret' },
  E_PVE_FORBIDDEN: { next: 'fix the host', means: 'the token lacks a permission (403); grant Sys.Modify on /' },
  E_PVE_BAD_REQUEST: { next: 'fix the input', means: 'the Proxmox API refused a request as malformed (400)' },
  E_PVE_ANSWER: { next: 'retry', means: 'the Proxmox API answered with something that is not its answer (not JSON, another shape: a proxy page, a cut-off reply); retried next run' },
  E_PVE_SERVER: { next: 'retry', means: 'the Proxmox API failed (5xx); retried with back-off' },
  E_PVE_API_APPLY: { next: 'retry', means: 'some pve-api changes failed; the rest applied, the failed ones are retried next run' },
  E_PROBE_TLS: { next: 'fix the host', means: 'doctor: the TLS handshake with the Proxmox API failed' },
  E_PROBE_PIN: { next: 'fix the host', means: 'doctor: the API\'s certificate does not match the pinned fingerprint' },
  E_PROBE_TIMEOUT: { next: 'fix the host', means: 'doctor: the Proxmox API did not answer in time' },
  E_PROBE_HTTP: { next: 'fix the host', means: 'doctor: the Proxmox API answered with an HTTP error' },
  E_DEMO: { next: 'fix the host', means: '`fail2git demo` could not run a step (the message says which)' },
  E_LAST_GOOD: { next: 'hold', means: 'the last good commit cannot be read back; reconcile holds until a new valid commit arrives' },
  E_CIDR_RANGE: { next: 'fix the input', means: 'an address range whose ends are not addresses of one family in order' },
} as const satisfies Record<string, { next: NextStep; means: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether a string is a declared code (for codes read back from status files or problems). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

export class Fail2gitError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input from a person or a hook: usage, a malformed address, a bad flag. Exit 2 for usage, 1 otherwise. */
export class InputError extends Fail2gitError {}

/** The ledger (or a document in it) is invalid: never enforce it, keep the last good one. */
export class InvalidLedgerError extends Fail2gitError {
  readonly problems: readonly { file: string; line: number; col: number; message: string }[];
  constructor(message: string, problems: InvalidLedgerError['problems'] = []) {
    super('E_LEDGER_INVALID', message);
    this.problems = problems;
  }
}

/** The host config is missing or broken. */
export class ConfigError extends Fail2gitError {}

/** Something outside us failed and may work later (network, lock, remote). Retry. */
export class TransientError extends Fail2gitError {}

/** A target's I/O failed. Isolated to that target. */
export class TargetError extends Fail2gitError {
  readonly target: string;
  constructor(target: string, code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.target = target;
  }
}

/** A guardrail refused a plan (removal limit, protected address). Needs a human (or --force). */
export class GuardError extends Fail2gitError {}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return redact(err.message.split('\n')[0] ?? String(err));
  return redact(String(err));
}
