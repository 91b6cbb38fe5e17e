/**
 * Who decides where a target writes and whom it calls (DESIGN "Who decides what"): the
 * ledger says *what* to ban; the enforcing host's config says which files a target may
 * write (`writablePaths`) and which Proxmox endpoint, token and pin it uses
 * (`pveCredentials`). A Target document may only pick among what the host declared.
 *
 * This is the one gate between a ledger `Target` and a driver: it turns the ledger's
 * options into the options the driver is built with, or refuses the target alone with
 * one line naming the target, the option and the host config key to change. Paths are
 * judged after resolving `..` and every symlink of the parent directory, and the file
 * itself must not be a symlink or anything but a regular file: the driver then writes
 * exactly the path that was checked.
 */
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { defaultListsDir, type PveCredential, type WritablePaths } from '../config/host-config.js';
import { TargetError, type ErrorCode } from '../lib/errors.js';
import type { TargetDoc } from '../ledger/types.js';

export const DEFAULT_CLUSTER_FW = '/etc/pve/firewall/cluster.fw';

/** The parts of the host config that bound targets. */
export interface HostSinks {
  stateDir: string;
  /** the host config file, for messages */
  configPath: string;
  writablePaths?: WritablePaths | undefined;
  pveCredentials?: Record<string, PveCredential> | undefined;
  /** host files no target may ever write (config, signers, keys, token files) */
  neverWrite?: readonly string[];
}

type PathDriver = keyof WritablePaths;

/** Ledger options of pve-api that only the host may set now (they moved to pveCredentials). */
const HOST_OWNED_API = ['url', 'tokenId', 'tokenSecretFile', 'fingerprint', 'caFile'] as const;
/** pve-clusterfw options naming files besides `path`: derived by the driver, never from the ledger. */
const HOST_OWNED_CLUSTERFW = ['lockDir', 'corosyncPath'] as const;

/** The entries in force for a driver: the host's list, or the default. */
export function writableEntries(sinks: Pick<HostSinks, 'stateDir' | 'writablePaths'>, driver: PathDriver): string[] {
  return sinks.writablePaths?.[driver] ?? (driver === 'file' ? [defaultListsDir(sinks)] : [DEFAULT_CLUSTER_FW]);
}

/**
 * The options a driver is built with for this host, or a TargetError (`E_TARGET_NOT_ALLOWED`,
 * `E_TARGET_MIGRATE`) naming the target, the option and the host config key.
 */
export async function bindTargetToHost(doc: TargetDoc, sinks: HostSinks): Promise<Record<string, unknown>> {
  const name = doc.metadata.name;
  const options: Record<string, unknown> = { ...(doc.spec.options ?? {}) };
  switch (doc.spec.driver) {
    case 'file': {
      const format = typeof options.format === 'string' ? options.format : 'txt';
      const wanted = typeof options.path === 'string' ? options.path : join(defaultListsDir(sinks), `${name}.${format}`);
      return { ...options, path: await allowedPath(name, 'file', wanted, sinks) };
    }
    case 'pve-clusterfw': {
      for (const k of HOST_OWNED_CLUSTERFW) {
        if (options[k] !== undefined) throw refuse(name, 'pve-clusterfw', `option ${k} is chosen by the host, not the ledger (it follows from path); remove it from bans/targets.yaml`, 'E_TARGET_MIGRATE');
      }
      const wanted = typeof options.path === 'string' ? options.path : DEFAULT_CLUSTER_FW;
      return { ...options, path: await allowedPath(name, 'pve-clusterfw', wanted, sinks) };
    }
    case 'pve-api':
      return bindCredential(name, options, sinks);
    default:
      return options;
  }
}

function refuse(target: string, driver: string, message: string, code: ErrorCode = 'E_TARGET_NOT_ALLOWED'): TargetError {
  return new TargetError(target, code, `target ${JSON.stringify(target)} (${driver}): ${message}`);
}

function bindCredential(name: string, options: Record<string, unknown>, sinks: HostSinks): Record<string, unknown> {
  const legacy = HOST_OWNED_API.filter((k) => options[k] !== undefined);
  if (legacy.length > 0) {
    throw refuse(name, 'pve-api',
      `option ${legacy.join(', ')} is no longer read from the ledger; declare it on each enforcing host under pveCredentials.NAME in ${sinks.configPath} ` +
      `and write "credential: NAME" in the target instead (docs/proxmox.md, "Moving to host-owned credentials")`, 'E_TARGET_MIGRATE');
  }
  const { credential: rawName, ...rest } = options;
  const credName = typeof rawName === 'string' ? rawName : 'default';
  const declared = sinks.pveCredentials ?? {};
  const cred = Object.hasOwn(declared, credName) ? declared[credName] : undefined;
  if (!cred) {
    const known = Object.keys(declared);
    throw refuse(name, 'pve-api',
      `option credential ${JSON.stringify(credName)} names no entry of pveCredentials in ${sinks.configPath}` +
      ` (${known.length > 0 ? `declared: ${known.join(', ')}` : 'none declared'}); add pveCredentials.${credName} with url, tokenId, tokenSecretFile and fingerprint or caFile`);
  }
  return {
    ...rest,
    url: cred.url, tokenId: cred.tokenId, tokenSecretFile: cred.tokenSecretFile,
    ...(cred.fingerprint ? { fingerprint: cred.fingerprint } : {}),
    ...(cred.caFile ? { caFile: cred.caFile } : {}),
  };
}

/** The real path to write, when the host allows it; the refusal names writablePaths.<driver>. */
async function allowedPath(target: string, driver: PathDriver, wanted: string, sinks: HostSinks): Promise<string> {
  const key = `writablePaths.${driver}`;
  const no = (why: string, fix = `add the file (or its directory, ending in /) to ${key} in ${sinks.configPath} if this host should write it`): TargetError =>
    refuse(target, driver, `option path ${JSON.stringify(wanted)} ${why}; ${fix}`);
  if (!isAbsolute(wanted) || wanted.endsWith('/') || wanted.includes('\0')) throw no('is not an absolute file path');
  const entries = writableEntries(sinks, driver);
  const listsDir = defaultListsDir(sinks);
  // The default directory is ours to create; anything else the admin creates.
  if (driver === 'file' && entries.includes(listsDir)) await mkdir(listsDir, { recursive: true, mode: 0o755 }).catch(() => undefined);
  const lexical = resolve(wanted);
  const parent = await realpath(dirname(lexical)).catch(() => undefined);
  if (!parent) throw no(`is in a directory that does not exist (${dirname(lexical)})`, 'create it on this host (fail2git creates only <stateDir>/lists/)');
  const real = join(parent, basename(lexical));
  const st = await lstat(real).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  if (st && !st.isFile()) throw no(`is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'} (${real}); fail2git writes only regular files it can replace`);
  // fail2git's own state (clone, spool, status, last good commit) is never a sink, whatever is listed.
  const state = await realpath(sinks.stateDir).catch(() => resolve(sinks.stateDir));
  const lists = join(state, 'lists');
  if (within(real, state) && !within(real, lists)) throw no(`is inside fail2git's state directory ${state} (only ${lists}/ may hold lists)`);
  for (const f of sinks.neverWrite ?? []) {
    const r = await realpath(f).catch(() => resolve(f));
    if (r === real) throw no(`is one of this host's own fail2git files (${f})`);
  }
  for (const entry of entries) {
    if (await entryAllows(entry, real)) return real;
  }
  const shown = real === lexical ? '' : ` (resolves to ${real})`;
  throw no(`is not among the paths this host lets targets write${shown} (${key}: ${entries.join(', ')})`);
}

async function entryAllows(entry: string, real: string): Promise<boolean> {
  if (entry.endsWith('/')) {
    const dir = await realpath(entry).catch(() => undefined);
    return dir !== undefined && within(real, dir) && real !== dir;
  }
  const parent = await realpath(dirname(entry)).catch(() => undefined);
  return parent !== undefined && join(parent, basename(entry)) === real;
}

/** `p` is `dir` or below it (compared by path components, so /a/bc is not below /a/b). */
function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** The sinks of a host config: what it declares, and its own files that no target may write. */
export function hostSinks(cfg: {
  stateDir: string; path?: string | undefined; writablePaths?: WritablePaths | undefined; pveCredentials?: Record<string, PveCredential> | undefined;
  allowedSigners?: string | undefined; adminSigners?: string | undefined; signingKey?: string | undefined; metricsFile?: string | undefined;
}): HostSinks {
  const creds = Object.values(cfg.pveCredentials ?? {});
  const own = [cfg.path, cfg.allowedSigners, cfg.adminSigners, cfg.signingKey, cfg.signingKey && `${cfg.signingKey}.pub`, cfg.metricsFile,
    ...creds.flatMap((c) => [c.tokenSecretFile, c.caFile])];
  return {
    stateDir: cfg.stateDir,
    configPath: cfg.path ?? 'the host config',
    writablePaths: cfg.writablePaths,
    pveCredentials: cfg.pveCredentials,
    neverWrite: own.filter((f): f is string => typeof f === 'string' && f !== '' && !f.startsWith('(')),
  };
}
