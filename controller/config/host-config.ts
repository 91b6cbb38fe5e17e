/**
 * The host's own config (`/etc/fail2git/config.yaml`): where the ledger lives and who
 * this host is. Never in the ledger: secrets and trust stay on the host.
 *
 * What a HostConfig is, where its files are, and the one set of defaults
 * (`settingsToHostConfig`). Read it with `loadHostConfig` (./load.ts). This file stays
 * light: the hook imports it.
 */
import { rememberUrlCredentials } from '../lib/redact.js';
import { existsSync, readFileSync, realpathSync, statSync, statfsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve, dirname, relative } from 'node:path';
import { ConfigError } from '../lib/errors.js';

export const DEFAULT_CONFIG_PATH = '/etc/fail2git/config.yaml';
export const DEFAULT_STATE_DIR = '/var/lib/fail2git';
/** The directory Debian's prometheus-node-exporter reads .prom textfiles from. */
export const NODE_EXPORTER_TEXTFILE_DIR = '/var/lib/prometheus/node-exporter';

export interface HostConfig {
  /** any git URL: a path, file://, ssh, https, git:// */
  remote: string;
  branch: string;
  host: string;
  stateDir: string;
  /** SSH key used to sign commits (gpg.format=ssh) */
  signingKey?: string;
  requireSignedCommits: boolean;
  /** push the fleet status record after every reconcile run (default true); false: read-only access suffices */
  publishStatus: boolean;
  /** ssh-keygen allowed_signers file */
  allowedSigners?: string;
  /** reconcile interval, e.g. `30s` */
  interval: string;
  /** Prometheus textfile path; default `<stateDir>/fail2git.prom` */
  metricsFile: string;
  /** ssh allowed_signers file of the people who may change allow/policy/targets (admins) */
  adminSigners?: string;
  /** files targets may write, as written (absolute); absent = the defaults of writableEntries() */
  writablePaths?: WritablePaths;
  /** Proxmox API endpoints and tokens by name (a pve-api Target names one) */
  pveCredentials?: Record<string, PveCredential>;
  /** `fail2git serve` (controller/serve/): where it listens and who may read */
  serve?: ServeConfig;
  /** `reconcile --watch`: long-poll a site mirror (`serve.mirror` of another host) and fetch news from it */
  wake?: WakeConfig;
  /** file this config was read from */
  path: string;
}

/** `writablePaths`: per driver, files (`/x/y.txt`) or directories (`/x/`) a target may write. */
export interface WritablePaths {
  file?: string[];
  'pve-clusterfw'?: string[];
}

/** One `pveCredentials` entry: where the API is, which token, and how TLS is verified. */
export interface PveCredential {
  url: string;
  tokenId: string;
  tokenSecretFile: string;
  fingerprint?: string;
  caFile?: string;
}

/** `serve:` in the host config; paths resolved against the config's directory. */
export interface ServeConfig {
  /** ADDRESS:PORT, default 127.0.0.1:8089 */
  listen: string;
  tls?: { cert: string; key: string };
  bouncerKeys: ServeKey[];
  pageKeys: ServeKey[];
  maxConnections: number;
  /** how often the page re-reads the fleet's status records */
  fleetRefresh: string;
  /** a read mirror of the remote's branch for hosts to long-poll and fetch from (controller/mirror/) */
  mirror?: MirrorConfig;
}

/** `serve.mirror:`; paths resolved against the config's directory. */
export interface MirrorConfig {
  /** how often the mirror asks the remote for its tip, e.g. `2s` */
  interval: string;
  /** the forge webhook's shared secret; absent = no webhook endpoint */
  webhookSecretFile?: string;
  /** keys hosts present (X-Api-Key); none = loopback only */
  keys: ServeKey[];
}

/** `wake:` in the host config: the mirror this host long-polls (controller/loop/wake.ts). */
export interface WakeConfig {
  /** http(s)://HOST:PORT of the mirror's serve, no trailing slash */
  url: string;
  keyFile?: string;
  caFile?: string;
}

/** One key `serve` accepts: a file holding it, or its SHA-256. */
export interface ServeKey {
  name: string;
  keyFile?: string;
  keySha256?: string;
  /** bouncer keys: Ranges of at most this many addresses go out as one Ip decision per address */
  expandRanges?: number;
}

export const DEFAULT_SERVE_LISTEN = '127.0.0.1:8089';
/** serve's connection cap: small by default; with a mirror every host long-polling it holds one. */
export const DEFAULT_SERVE_MAX_CONNECTIONS = 64;
export const DEFAULT_MIRROR_MAX_CONNECTIONS = 2048;
export const DEFAULT_MIRROR_INTERVAL = '2s';

export function configPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.FAIL2GIT_CONFIG ?? DEFAULT_CONFIG_PATH;
}

/** Where the host's clone of the ledger lives. */
export function ledgerClonePath(cfg: Pick<HostConfig, 'stateDir'>): string {
  return join(cfg.stateDir, 'ledger');
}

/** Where `file` targets write unless the host config says otherwise (never stateDir itself). */
export function defaultListsDir(cfg: Pick<HostConfig, 'stateDir'>): string {
  return join(cfg.stateDir, 'lists') + '/';
}

/** serve's read mirror of the remote's branch (a bare repository, controller/mirror/). */
export function mirrorRepoPath(cfg: Pick<HostConfig, 'stateDir'>): string {
  return join(cfg.stateDir, 'mirror.git');
}

/**
 * Where the Prometheus textfile goes unless `metricsFile` says otherwise: on a host with the
 * default state directory and Debian's node_exporter installed, its textfile directory, so the
 * metrics are collected with no setting at all; else beside the state. The spool, gc and fleet
 * textfiles go beside it.
 */
export function defaultMetricsFile(cfg: Pick<HostConfig, 'stateDir'>, exists: (p: string) => boolean = existsSync): string {
  if (cfg.stateDir === DEFAULT_STATE_DIR && exists(NODE_EXPORTER_TEXTFILE_DIR)) return join(NODE_EXPORTER_TEXTFILE_DIR, 'fail2git.prom');
  return join(cfg.stateDir, 'fail2git.prom');
}

/** The hook's durable operations, waiting for the flusher. */
export function spoolPath(cfg: Pick<HostConfig, 'stateDir'>): string {
  return join(cfg.stateDir, 'spool');
}

/** Kernel pseudo-filesystems (statfs f_type): nothing fail2git keeps can live there. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc', 0x62656572: 'sysfs', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2',
  0x64626720: 'debugfs', 0x74726163: 'tracefs', 0x73636673: 'securityfs', 0xcafe4a11: 'bpf',
};

/**
 * Why `dir` cannot hold fail2git's state, or null: it (or the nearest part of it that
 * exists) is not a directory, or it lies under /proc, /sys or another kernel
 * pseudo-filesystem (where creating directories fails in ways node's recursive mkdir
 * retries forever). A few stat calls: cheap enough for the hook.
 */
export function stateDirProblem(dir: string): string | null {
  let p = dir;
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const up = dirname(p);
      if ((code === 'ENOENT' || code === 'ENOTDIR') && up !== p) {
        p = up;
        continue;
      }
      return code === 'EACCES' ? `${dir}: ${p} cannot be read (permission denied)` : null;
    }
    if (!st.isDirectory()) return p === dir ? `${dir} is not a directory` : `${dir}: ${p} is not a directory`;
    break;
  }
  let real = p;
  try {
    real = realpathSync(p);
  } catch {
    /* keep p */
  }
  const full = join(real, relative(p, dir));
  const top = /^\/(proc|sys)(\/|$)/.exec(full);
  if (top) return `${dir} is under /${top[1]}, a kernel pseudo-filesystem; use a directory on a real filesystem such as /var/lib/fail2git`;
  try {
    const fs = PSEUDO_FS[statfsSync(p).type];
    if (fs) return `${dir} is on a ${fs} filesystem, a kernel pseudo-filesystem; use a directory on a real filesystem such as /var/lib/fail2git`;
  } catch {
    /* statfs unsupported: the path check above stands */
  }
  return null;
}

/** Reads the host config's text; a missing or unreadable file is one ConfigError line. */
export function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError('E_CONFIG_MISSING', `${path}: cannot read host config (${code ?? 'error'}); create it or pass --config FILE`);
  }
}

/**
 * Settings already known valid under the schema → the HostConfig: the one set of defaults,
 * relative paths resolved against the config's directory, and the checks the schema cannot
 * make (the system host name, signed commits need allowedSigners).
 */
export function settingsToHostConfig(o: Record<string, unknown>, path: string): HostConfig {
  const fail = (msg: string): never => {
    throw new ConfigError('E_CONFIG_INVALID', `${path}: ${msg}`);
  };
  const str = (k: string): string | undefined => o[k] as string | undefined;
  const remote = str('remote')!;
  rememberUrlCredentials(remote);
  const stateDir = resolve(dirname(path), str('stateDir') ?? DEFAULT_STATE_DIR);
  const cfg: HostConfig = {
    remote,
    branch: str('branch') ?? 'main',
    host: str('host') ?? hostname(),
    stateDir,
    requireSignedCommits: o.requireSignedCommits === true,
    publishStatus: o.publishStatus !== false,
    interval: str('interval') ?? '30s',
    metricsFile: str('metricsFile') ?? defaultMetricsFile({ stateDir }),
    path,
  };
  const signingKey = str('signingKey');
  if (signingKey) cfg.signingKey = signingKey;
  const allowedSigners = str('allowedSigners');
  if (allowedSigners) cfg.allowedSigners = allowedSigners;
  const adminSigners = str('adminSigners');
  if (adminSigners) cfg.adminSigners = adminSigners;
  const base = dirname(path);
  if (o.writablePaths) {
    const w = o.writablePaths as WritablePaths;
    cfg.writablePaths = Object.fromEntries(Object.entries(w).map(([k, list]) => [k, ((list as string[] | undefined) ?? []).map((p: string) => keepSlash(p, resolve(base, p)))]));
  }
  if (o.pveCredentials) {
    cfg.pveCredentials = Object.fromEntries(Object.entries(o.pveCredentials as Record<string, PveCredential>).map(([k, c]) => [k, {
      ...c, tokenSecretFile: resolve(base, c.tokenSecretFile), ...(c.caFile ? { caFile: resolve(base, c.caFile) } : {}),
    }]));
  }
  if (o.serve) cfg.serve = serveConfig(o.serve as Record<string, unknown>, base, fail);
  if (o.wake) {
    const w = o.wake as WakeConfig;
    cfg.wake = { url: w.url.replace(/\/$/, ''), ...(w.keyFile ? { keyFile: resolve(base, w.keyFile) } : {}), ...(w.caFile ? { caFile: resolve(base, w.caFile) } : {}) };
  }
  if (cfg.requireSignedCommits && !cfg.allowedSigners) fail('"requireSignedCommits: true" needs "allowedSigners: PATH"');
  const bad = stateDirProblem(stateDir);
  if (bad) throw new ConfigError('E_CONFIG_STATEDIR', `${path}: stateDir ${bad}`);
  // The other places fail2git writes: the metrics file's directory, the targets' writablePaths.
  const places: [string, string][] = [['metricsFile', dirname(cfg.metricsFile)]];
  for (const [driver, list] of Object.entries(cfg.writablePaths ?? {})) {
    for (const p of list ?? []) places.push([`writablePaths.${driver}`, p.endsWith('/') ? p : dirname(p)]);
  }
  for (const [key, dir] of places) {
    const why = stateDirProblem(dir);
    if (why) throw new ConfigError('E_CONFIG_STATEDIR', `${path}: ${key}: ${why}`);
  }
  // The system host name is not checked by the schema (it is not in the file).
  if (!/^[A-Za-z0-9._-]+$/.test(cfg.host)) fail(`"host" must be a plain host name, got ${JSON.stringify(cfg.host)}`);
  return cfg;
}

function serveConfig(s: Record<string, unknown>, base: string, fail: (msg: string) => never): ServeConfig {
  const keys = (list: unknown, what: string): ServeKey[] => {
    const out = ((list as ServeKey[] | undefined) ?? []).map((k) => ({ ...k, ...(k.keyFile ? { keyFile: resolve(base, k.keyFile) } : {}) }));
    const seen = new Set<string>();
    for (const k of out) {
      if (!k.keyFile === !k.keySha256) fail(`"serve.${what}" entry "${k.name}" needs exactly one of "keyFile" or "keySha256"`);
      if (seen.has(k.name)) fail(`"serve.${what}" names "${k.name}" twice`);
      seen.add(k.name);
    }
    return out;
  };
  const tls = s.tls as { cert: string; key: string } | undefined;
  const m = s.mirror as Record<string, unknown> | undefined;
  const mirror: MirrorConfig | undefined = m && {
    interval: (m.interval as string | undefined) ?? DEFAULT_MIRROR_INTERVAL,
    ...(m.webhookSecretFile ? { webhookSecretFile: resolve(base, m.webhookSecretFile as string) } : {}),
    keys: keys(m.keys, 'mirror.keys'),
  };
  return {
    listen: (s.listen as string | undefined) ?? DEFAULT_SERVE_LISTEN,
    ...(tls ? { tls: { cert: resolve(base, tls.cert), key: resolve(base, tls.key) } } : {}),
    bouncerKeys: keys(s.bouncerKeys, 'bouncerKeys'),
    pageKeys: keys(s.pageKeys, 'pageKeys'),
    maxConnections: (s.maxConnections as number | undefined) ?? (mirror ? DEFAULT_MIRROR_MAX_CONNECTIONS : DEFAULT_SERVE_MAX_CONNECTIONS),
    fleetRefresh: (s.fleetRefresh as string | undefined) ?? '30s',
    ...(mirror ? { mirror } : {}),
  };
}

// `dir/` names a directory; resolve() drops the slash that says so.
const keepSlash = (raw: string, abs: string): string => (raw.endsWith('/') && abs !== '/' ? `${abs}/` : abs);
