/**
 * The push-triggered wake-up, host side (docs/scale.md, docs/serve.md "Mirror"): beside the
 * watch loop, like the ledger fetch, a WakeListener long-polls the site mirror of `wake.url`
 * (`GET /v1/ledger/tip?known=<what this host has>`). When the mirror names a tip this host
 * does not have, it fetches it from the mirror and advances the clone's tracking ref only when
 * that is a fast-forward (controller/git/mirror.ts), then wakes the loop: the run checks every
 * commit it brings as it would the remote's (signatures, guards). The mirror is never more
 * trusted than the remote, and never needed: the remote stays polled (./ledger-fetch.ts), and
 * while the wake path is down (refused, timeout, a bad or stale answer) it runs at the plain
 * interval, without idle back-off. A failure is logged once per streak, without secrets, and
 * retried with back-off and jitter.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { WakeConfig } from '../config/host-config.js';
import { localTip } from '../git/clone.js';
import { advanceTracking, fetchFromMirror, isSha, type MirrorAuth } from '../git/mirror.js';
import { ConfigError, TransientError, errorMessage } from '../lib/errors.js';
import type { Runner } from '../lib/exec.js';
import type { Logger } from '../lib/log.js';
import { readKeyFile } from '../lib/key-file.js';
import { rememberSecret } from '../lib/redact.js';
import { sleep } from './watch.js';

/** How long one long-poll asks the mirror to hold (its cap is 50 s). */
export const WAKE_WAIT_S = 45;
/** Beyond the wait, how long an answer may take before the wake path counts as down. */
const ANSWER_SLACK_MS = 15_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;
const RETRY_JITTER = 0.2;
const MAX_ANSWER_BYTES = 4096;

/** The gap before retry number `failures` (1, 2, …): 1 s doubling to 60 s, ±20 % jitter. Pure. */
export function wakeRetryMs(failures: number, random: number): number {
  const base = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (1 + RETRY_JITTER * (2 * random - 1)));
}

/** The key and CA of `wake:`, read once at start; the key is remembered for redaction. */
export function loadWakeAuth(w: WakeConfig): MirrorAuth {
  const auth: MirrorAuth = {};
  if (w.keyFile) {
    const key = readKeyFile(w.keyFile, 'E_WAKE_KEY', { setting: 'wake.keyFile', secret: 'the wake key' });
    rememberSecret(key);
    auth.key = key;
  }
  if (w.caFile) {
    try {
      readFileSync(w.caFile);
    } catch (err) {
      throw new ConfigError('E_WAKE_KEY', `${w.caFile}: cannot read wake.caFile (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    auth.caFile = w.caFile;
  }
  return auth;
}

export interface TipAnswer {
  branch: string;
  tip: string;
  /** the mirror has not reached the remote for a while: its answers are no news */
  stale: boolean;
}

/** One long-poll of the mirror. Throws TransientError E_WAKE_FAILED on anything but a good answer. */
export function askTip(url: string, known: string | undefined, waitS: number, auth: MirrorAuth, signal?: AbortSignal): Promise<TipAnswer> {
  const target = new URL(`${url.replace(/\/$/, '')}/v1/ledger/tip`);
  if (known) target.searchParams.set('known', known);
  target.searchParams.set('wait', String(waitS));
  const https = target.protocol === 'https:';
  const failed = (why: string): TransientError => new TransientError('E_WAKE_FAILED', `the mirror ${url} did not answer: ${why}`);
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(target, {
      method: 'GET', timeout: waitS * 1000 + ANSWER_SLACK_MS, signal,
      headers: { Accept: 'application/json', ...(auth.key !== undefined && { 'X-Api-Key': auth.key }) },
      ...(https && auth.caFile ? { ca: readFileSync(auth.caFile) } : {}),
    }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        if (body.length > MAX_ANSWER_BYTES) req.destroy(failed('an answer too large'));
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(failed(`HTTP ${res.statusCode ?? '?'}${res.statusCode === 403 ? ' (wrong or missing wake.keyFile)' : ''}`));
        let a: Partial<TipAnswer> | undefined;
        try {
          a = JSON.parse(body) as Partial<TipAnswer>;
        } catch {
          return reject(failed('not JSON'));
        }
        if (typeof a?.branch !== 'string' || typeof a.tip !== 'string' || !isSha(a.tip)) return reject(failed('no branch and commit id in the answer'));
        resolve({ branch: a.branch, tip: a.tip, stale: a.stale === true });
      });
      res.on('error', (e) => reject(failed(errorMessage(e))));
    });
    req.on('timeout', () => req.destroy(failed('timed out')));
    req.on('error', (e) => reject(e instanceof TransientError ? e : failed((e as NodeJS.ErrnoException).code ?? errorMessage(e))));
    req.end();
  });
}

export interface WakeListenerConfig {
  url: string;
  auth: MirrorAuth;
  /** the host's clone (stateDir/ledger) */
  dir: string;
  branch: string;
  run: Runner;
  /** the mirror brought a new tip into the tracking ref: run now */
  onNews: () => void;
  /** the wake path went down (after being up): poll the remote at the interval again */
  onDown?: () => void;
  log: Logger;
  waitS?: number;
  random?: () => number;
}

export class WakeListener {
  private up = false;
  private failures = 0;
  private stale = false;
  /** long-polls answered, fetches from the mirror, tips it moved this host to: for logs and the bench */
  readonly counts = { answers: 0, fetches: 0, advanced: 0, refusedNotFastForward: 0, failures: 0 };

  constructor(private readonly cfg: WakeListenerConfig) {}

  /** Whether the last long-poll was answered, fresh, and its tip fetched: the remote's polls may back off. */
  get healthy(): boolean {
    return this.up;
  }

  /** Long-polls until `signal` aborts. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    const random = this.cfg.random ?? Math.random;
    let known: string | undefined;
    while (!signal.aborted) {
      if (!existsSync(join(this.cfg.dir, '.git'))) {
        // No clone yet: the first fetch from the remote makes it.
        await sleep(RETRY_MIN_MS, signal);
        continue;
      }
      try {
        known ??= await localTip(this.cfg.dir, this.cfg.branch, this.cfg.run);
        // The first ask of a streak answers at once: whether the mirror is there is known now.
        const a = await askTip(this.cfg.url, known, this.up || this.stale ? this.cfg.waitS ?? WAKE_WAIT_S : 0, this.cfg.auth, signal);
        if (signal.aborted) break;
        if (a.branch !== this.cfg.branch) throw new TransientError('E_WAKE_FAILED', `the mirror ${this.cfg.url} serves branch "${a.branch}", this host follows "${this.cfg.branch}"`);
        this.counts.answers++;
        if (a.tip !== known) known = await this.take(a.tip);
        this.answered(a.stale);
      } catch (err) {
        if (signal.aborted) break;
        this.failed(err);
        await sleep(wakeRetryMs(this.failures, random()), signal);
      }
    }
  }

  /** Fetches the mirror's tip unless the clone is there already; fast-forward only. Returns what the mirror holds. */
  private async take(tip: string): Promise<string> {
    const { dir, branch, run } = this.cfg;
    if ((await localTip(dir, branch, run)) === tip) return tip;
    const fetched = await fetchFromMirror(dir, this.cfg.url, branch, this.cfg.auth, run, tip);
    this.counts.fetches++;
    const r = await advanceTracking(dir, branch, fetched, run);
    if (r === 'advanced') {
      this.counts.advanced++;
      this.cfg.log.info('wake.fetch', { tip: fetched });
      this.cfg.onNews();
    } else if (r === 'not-fast-forward') {
      // Behind or beside what this host has (the remote was rewritten, or the mirror lags or
      // lies): never a step back. Only the remote's own fetch may move the tracking ref so.
      this.counts.refusedNotFastForward++;
    }
    return fetched;
  }

  private answered(stale: boolean): void {
    if (this.failures > 0) this.cfg.log.info('wake.recovered', { url: this.cfg.url });
    this.failures = 0;
    if (stale && !this.stale) this.cfg.log.warn('wake.stale', { url: this.cfg.url, message: 'the mirror has not reached the remote for a while; polling the remote at the interval' });
    this.stale = stale;
    this.setUp(!stale);
  }

  private failed(err: unknown): void {
    this.failures++;
    this.counts.failures++;
    if (this.failures === 1) {
      const code = err instanceof TransientError ? err.code : 'E_WAKE_FAILED';
      this.cfg.log.warn('wake.failed', { code, url: this.cfg.url, error: errorMessage(err), message: 'polling the remote at the interval until the mirror answers' });
    }
    this.setUp(false);
  }

  private setUp(up: boolean): void {
    const wasUp = this.up;
    this.up = up;
    if (wasUp && !up) this.cfg.onDown?.();
  }
}
