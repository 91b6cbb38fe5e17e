/**
 * The git half of the site mirror (docs/serve.md "Mirror"), both sides:
 *  - serve's bare mirror of the remote's branch (`<stateDir>/mirror.git`): an `ls-remote` each
 *    poll, a fetch only when the tip moved. It follows the remote, rewrites included;
 *  - a host fetching a tip from the mirror over smart HTTP into `refs/fail2git/mirror/<branch>`
 *    and advancing its tracking ref to it only when that is a fast-forward: the mirror never
 *    moves a host backwards or sideways, only the remote itself may.
 * execFile argument arrays only; the mirror key travels in the environment, never in argv.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TransientError, redact } from '../lib/errors.js';
import { execRunner, type Runner } from '../lib/exec.js';
import { GIT_ENV, ensureDiskConfig, firstLine, isSha, localTip, lsRemoteTip, refTip, trackingRef } from './clone.js';

const FETCH_TIMEOUT_MS = 120_000;
/** Seconds without a byte from the mirror before a fetch from it is given up. */
export const MIRROR_STALL_S = 20;

export { isSha };

/** Where a host keeps what it fetched from the mirror (never the tracking ref itself). */
export function mirrorFetchRef(branch: string): string {
  return `refs/fail2git/mirror/${branch}`;
}

/**
 * Makes `dir` a bare mirror of `remote` (created on first use, `origin` re-pointed when the
 * config changed), with bounded disk and receive-pack off (the smart HTTP endpoint never
 * routes pushes either).
 */
export async function ensureMirrorRepo(remote: string, dir: string, branch: string, run: Runner = execRunner): Promise<void> {
  if (!existsSync(join(dir, 'HEAD'))) {
    mkdirSync(dirname(dir), { recursive: true });
    await run('git', ['init', '-q', '--bare', '-b', branch, dir], { env: GIT_ENV });
  }
  const config = join(dir, 'config');
  ensureDiskConfig(config);
  const text = readFileSync(config, 'utf8').toLowerCase();
  const set = async (key: string, value: string): Promise<void> => {
    await run('git', ['-C', dir, 'config', key, value], { env: GIT_ENV });
  };
  if (!text.includes('receivepack = false')) await set('http.receivepack', 'false');
  // Hosts fetch the exact tip a long-poll named, which may have moved on (still reachable).
  if (!text.includes('allowreachablesha1inwant = true')) await set('uploadpack.allowReachableSHA1InWant', 'true');
  const url = await run('git', ['-C', dir, 'config', '--get', 'remote.origin.url'], { env: GIT_ENV }).then((r) => r.stdout.trim(), () => '');
  if (url !== remote) await set('remote.origin.url', remote);
}

/** The mirror's own tip of `branch`; undefined before the first fetch. */
export function mirrorLocalTip(dir: string, branch: string, run: Runner = execRunner): Promise<string | undefined> {
  return refTip(dir, `refs/heads/${branch}`, run);
}

export interface MirrorPoll {
  tip: string | undefined;
  /** whether this poll fetched a new tip */
  moved: boolean;
}

/** One poll of the remote: `ls-remote`, and a forced fetch when the tip differs from the mirror's. */
export async function pollMirror(dir: string, branch: string, run: Runner = execRunner): Promise<MirrorPoll> {
  const have = await mirrorLocalTip(dir, branch, run);
  const remote = await lsRemoteTip(dir, branch, run);
  if (remote === undefined) throw new TransientError('E_REMOTE_NO_BRANCH', `remote has no branch "${branch}"`);
  if (remote === have) return { tip: have, moved: false };
  try {
    await run('git', ['-C', dir, 'fetch', '-q', '--no-tags', 'origin', `+refs/heads/${branch}:refs/heads/${branch}`], { env: GIT_ENV, timeoutMs: FETCH_TIMEOUT_MS });
  } catch (err) {
    throw new TransientError('E_FETCH_FAILED', `the mirror's git fetch failed: ${redact(firstLine(err))}`, { cause: err });
  }
  return { tip: await mirrorLocalTip(dir, branch, run), moved: true };
}

/** How a host reaches the mirror: its key (X-Api-Key) and the CA of its certificate. */
export interface MirrorAuth {
  key?: string;
  caFile?: string;
}

/**
 * git's environment for talking to the mirror: the key as an `http.extraHeader` and the CA
 * as `http.sslCAInfo`, both through GIT_CONFIG_COUNT so neither shows on a command line.
 */
export function mirrorGitEnv(auth: MirrorAuth): NodeJS.ProcessEnv {
  const pairs: [string, string][] = [];
  if (auth.key !== undefined) pairs.push(['http.extraHeader', `X-Api-Key: ${auth.key}`]);
  if (auth.caFile !== undefined) pairs.push(['http.sslCAInfo', auth.caFile]);
  const env: NodeJS.ProcessEnv = { ...GIT_ENV, GIT_CONFIG_COUNT: String(pairs.length) };
  // GIT_SSL_CAINFO in the environment outranks http.sslCAInfo: the configured CA must win.
  if (auth.caFile !== undefined) env.GIT_SSL_CAINFO = auth.caFile;
  // A mirror that accepts and then sends nothing: curl gives up after MIRROR_STALL_S without a
  // byte, so the fetch fails (the wake path is down, the remote polled at the interval) instead
  // of hanging in git's HTTP helper, which outlives a killed `git fetch` and keeps its pipes.
  env.GIT_HTTP_LOW_SPEED_LIMIT = '1';
  env.GIT_HTTP_LOW_SPEED_TIME = String(MIRROR_STALL_S);
  pairs.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

/** The mirror's smart HTTP address for a wake URL (`http(s)://HOST:PORT`). */
export function mirrorGitUrl(wakeUrl: string): string {
  return `${wakeUrl.replace(/\/$/, '')}/ledger.git`;
}

/**
 * Fetches from the mirror into mirrorFetchRef; returns the commit it brought. With `tip` (the
 * commit the mirror's long-poll named) that exact commit is fetched: protocol v2 then skips
 * listing refs, one request less for the mirror (`ls-refs`), as a site's hosts all fetch at
 * once. Without it, the mirror's `branch`. No auto-maintenance here: the remote's own fetches
 * (./clone.ts) run `gc --auto` and keep the clone's disk bounded.
 */
export async function fetchFromMirror(dir: string, wakeUrl: string, branch: string, auth: MirrorAuth, run: Runner = execRunner, tip?: string): Promise<string> {
  const ref = mirrorFetchRef(branch);
  const src = tip !== undefined && isSha(tip) ? tip : `refs/heads/${branch}`;
  try {
    await run('git', ['-C', dir, 'fetch', '-q', '--no-tags', '--no-write-fetch-head', '--no-auto-maintenance', mirrorGitUrl(wakeUrl), `+${src}:${ref}`], { env: mirrorGitEnv(auth), timeoutMs: FETCH_TIMEOUT_MS });
    if (src === tip) return tip;
    const r = await run('git', ['-C', dir, 'rev-parse', '--verify', '-q', `${ref}^{commit}`], { env: GIT_ENV });
    return r.stdout.trim();
  } catch (err) {
    throw new TransientError('E_WAKE_FETCH', `git fetch from the mirror failed: ${redact(firstLine(err))}`, { cause: err });
  }
}

export type Advance = 'advanced' | 'same' | 'not-fast-forward';

/**
 * Moves the clone's tracking ref to `tip` when that is a fast-forward of it (or the clone has
 * none yet). Compare-and-swap: when the remote's own fetch moved the ref meanwhile, nothing is
 * changed and the caller looks again. The remote alone may move it backwards or sideways.
 */
export async function advanceTracking(dir: string, branch: string, tip: string, run: Runner = execRunner): Promise<Advance> {
  const old = await localTip(dir, branch, run);
  if (old === tip) return 'same';
  if (old !== undefined) {
    const ff = await run('git', ['-C', dir, 'merge-base', '--is-ancestor', old, tip], { env: GIT_ENV }).then(() => true, () => false);
    if (!ff) return 'not-fast-forward';
  }
  try {
    await run('git', ['-C', dir, 'update-ref', '-m', 'fail2git: fast-forward from the mirror', trackingRef(branch), tip, old ?? ''], { env: GIT_ENV });
  } catch {
    return (await localTip(dir, branch, run)) === tip ? 'same' : 'not-fast-forward';
  }
  return 'advanced';
}
