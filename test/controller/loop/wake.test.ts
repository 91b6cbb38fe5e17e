/**
 * The push-triggered wake-up, host side, with real parts: a bare remote, the real `serve` with
 * serve.mirror on 127.0.0.1, the host's clone fetched by LedgerFetch, and the WakeListener
 * long-polling the mirror and fetching from it over smart HTTP with real git.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startServe } from '../../../controller/serve/run.js';
import type { HostConfig, ServeConfig } from '../../../controller/config/host-config.js';
import { createMemoryLogger } from '../../../controller/lib/log.js';
import { execRunner } from '../../../controller/lib/exec.js';
import { LedgerFetch } from '../../../controller/loop/ledger-fetch.js';
import { WakeListener, loadWakeAuth, wakeRetryMs } from '../../../controller/loop/wake.js';
import { localTip } from '../../../controller/git/clone.js';
import { git, makeLedgerRemote, type LedgerRemote } from '../../helpers/git.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

const KEY = 'wake-host-key-0123456789abc';

async function serveMirror(remoteUrl: string, keyFile?: string, tls?: { cert: string; key: string }) {
  const stateDir = tmpDir('f2g-wake-mirror');
  const cfg: HostConfig = {
    remote: remoteUrl, branch: 'main', host: 'mirror1', stateDir, requireSignedCommits: false, publishStatus: false,
    interval: '30s', metricsFile: join(stateDir, 'fail2git.prom'), path: join(stateDir, 'config.yaml'),
  };
  const serve: ServeConfig = {
    listen: '127.0.0.1:0', bouncerKeys: [], pageKeys: [], maxConnections: 64, fleetRefresh: '1h',
    mirror: { interval: '200ms', keys: keyFile ? [{ name: 'hosts', keyFile }] : [] }, ...(tls && { tls }),
  };
  const running = await startServe(cfg, serve, { log: createMemoryLogger(), now: () => new Date() });
  return { running, url: `${tls ? 'https' : 'http'}://${running.address}` };
}

/** A host: its clone fetched once from the remote, a LedgerFetch and a WakeListener on it. */
async function host(remote: LedgerRemote | string, wakeUrl: string, intervalMs: number, key?: string, caFile?: string) {
  const dir = join(tmpDir('f2g-wake-host'), 'ledger');
  const log = createMemoryLogger();
  let news = 0;
  let downs = 0;
  let wake: WakeListener | undefined = undefined;
  const fetch: LedgerFetch = new LedgerFetch({
    remote: typeof remote === 'string' ? remote : remote.bare, dir, branch: 'main', run: execRunner, intervalMs, fleetSize: () => 1000,
    onNews: () => news++, wakeHealthy: () => wake?.healthy ?? false,
  });
  fetch.kick();
  await fetch.settle(30_000);
  const keyFile = key ? join(tmpDir('f2g-wake-key'), 'k') : undefined;
  if (keyFile) writeFileSync(keyFile, key + '\n');
  wake = new WakeListener({
    url: wakeUrl, auth: loadWakeAuth({ url: wakeUrl, ...(keyFile && { keyFile }), ...(caFile && { caFile }) }), dir, branch: 'main', run: execRunner, log,
    onNews: () => news++, onDown: () => {
      downs++;
      fetch.wakeDown();
    },
    waitS: 20,
  });
  const ac = new AbortController();
  const running = wake.run(ac.signal);
  return {
    dir, log, fetch, wake, news: () => news, downs: () => downs,
    tip: () => localTip(dir, 'main'),
    stop: async () => {
      ac.abort();
      await running;
      await fetch.settle(10_000);
    },
  };
}

async function until(what: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return what();
}

describe('wakeRetryMs', () => {
  it('doubles from 1 s to a 60 s cap with ±20 % jitter', () => {
    expect([1, 2, 3, 4].map((n) => wakeRetryMs(n, 0.5))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(wakeRetryMs(30, 0.5)).toBe(60_000);
    expect(wakeRetryMs(1, 0)).toBe(800);
    expect(wakeRetryMs(1, 0.999999)).toBe(1_200);
  });
});

describe('WakeListener', () => {
  it('brings a push to the host through the mirror well before the poll interval, and the forge poll keeps its back-off', async () => {
    const remote = makeLedgerRemote();
    const keyFile = join(tmpDir('f2g-wake-key'), 'k');
    writeFileSync(keyFile, KEY + '\n');
    const m = await serveMirror(remote.bare, keyFile);
    // A 1-minute interval (backing off to 333 s at 1,000 hosts): only the wake-up can bring news within the test.
    const h = await host(remote, m.url, 60_000, KEY);
    try {
      expect(await until(() => h.wake.healthy, 10_000)).toBe(true);
      const newsBefore = h.news();
      const gapBefore = h.fetch.pollGapMs;
      const t0 = Date.now();
      const pushed = remote.commit({ 'notes.txt': 'news\n' }, 'a ban');
      expect(await until(async () => (await h.tip()) === pushed, 15_000)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(15_000);
      // The loop is woken just after the ref moved.
      expect(await until(() => h.news() > newsBefore, 5_000)).toBe(true);
      expect(h.wake.counts.advanced).toBe(1);
      expect(h.fetch.pollGapMs).toBe(gapBefore); // the mirror's news never resets the forge poll
      expect(m.running.mirror!.counts.git).toBeGreaterThan(0);
      expect(JSON.stringify(h.log.lines)).not.toContain(KEY);
    } finally {
      await h.stop();
      await m.running.close();
    }
  }, 60_000);

  it('with serve stopped, logs the failure once, falls back to polling the remote, and the host still gets the push', async () => {
    const remote = makeLedgerRemote();
    const m = await serveMirror(remote.bare);
    const h = await host(remote, m.url, 1_000);
    const ticking = setInterval(() => h.fetch.kick(), 200); // the watch loop's ticks
    try {
      expect(await until(() => h.wake.healthy, 10_000)).toBe(true);
      await m.running.close();
      expect(await until(() => !h.wake.healthy, 30_000)).toBe(true);
      expect(h.downs()).toBe(1);
      const pushed = remote.commit({ 'notes.txt': 'while the mirror is down\n' }, 'a ban');
      expect(await until(async () => (await h.tip()) === pushed, 20_000)).toBe(true);
      // Let it retry a few times: still one line.
      await until(() => h.wake.counts.failures >= 3, 20_000);
      expect(h.wake.counts.failures).toBeGreaterThanOrEqual(3);
      expect(h.log.lines.filter((l) => l.event === 'wake.failed')).toHaveLength(1);
      expect(h.log.lines.find((l) => l.event === 'wake.failed')?.fields).toMatchObject({ code: 'E_WAKE_FAILED' });
    } finally {
      clearInterval(ticking);
      await h.stop();
    }
  }, 90_000);

  it('never moves the host backwards or sideways: a mirror serving a rewound or rewritten branch is refused and not asked in a loop', async () => {
    const remote = makeLedgerRemote();
    const seed = remote.head();
    remote.commit({ 'notes.txt': 'one\n' }, 'one');
    const newest = remote.commit({ 'notes.txt': 'two\n' }, 'two');
    // The mirror's "remote": the same history rewound to the seed, then a commit beside it.
    const rewound = join(tmpDir('f2g-wake-rewound'), 'ledger.git');
    git(remote.work, 'clone', '-q', '--bare', remote.bare, rewound);
    git(rewound, 'update-ref', 'refs/heads/main', seed);
    const m = await serveMirror(rewound);
    const h = await host(remote, m.url, 600_000);
    try {
      expect(await h.tip()).toBe(newest);
      expect(await until(() => h.wake.counts.refusedNotFastForward >= 1, 15_000)).toBe(true);
      expect(await h.tip()).toBe(newest);
      // Now a sideways commit on the mirror (on the seed, not on what the host has).
      const side = join(tmpDir('f2g-wake-side'), 'w');
      git(remote.work, 'clone', '-q', rewound, side);
      writeFileSync(join(side, 'evil.txt'), 'not on the remote\n');
      git(side, 'add', '-A');
      git(side, 'commit', '-q', '-m', 'sideways');
      git(side, 'push', '-q', 'origin', 'HEAD:main');
      expect(await until(() => h.wake.counts.refusedNotFastForward >= 2, 15_000)).toBe(true);
      expect(await h.tip()).toBe(newest);
      const answers = h.wake.counts.answers;
      await new Promise((r) => setTimeout(r, 1_500));
      expect(h.wake.counts.answers - answers).toBeLessThanOrEqual(1); // it waits, it does not spin
      expect(h.wake.counts.advanced).toBe(0);
    } finally {
      await h.stop();
      await m.running.close();
    }
  }, 60_000);

  it('over TLS with wake.caFile: the long-poll and the git fetch both verify the mirror\'s certificate', async () => {
    const dir = tmpDir('f2g-wake-tls');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const remote = makeLedgerRemote();
    const keyFile = join(dir, 'k');
    writeFileSync(keyFile, KEY + '\n');
    const m = await serveMirror(remote.bare, keyFile, { cert, key });
    const h = await host(remote, m.url, 60_000, KEY, cert);
    try {
      expect(await until(() => h.wake.healthy, 10_000)).toBe(true);
      const pushed = remote.commit({ 'notes.txt': 'over tls\n' }, 'a ban');
      expect(await until(async () => (await h.tip()) === pushed, 15_000), JSON.stringify(h.log.lines)).toBe(true);
      expect(await until(() => h.wake.counts.advanced === 1, 5_000)).toBe(true);
    } finally {
      await h.stop();
      await m.running.close();
    }
    // Without the CA the mirror is not trusted: the wake path is down.
    const m2 = await serveMirror(remote.bare, keyFile, { cert, key });
    const h2 = await host(remote, m2.url, 60_000, KEY);
    try {
      expect(await until(() => h2.wake.counts.failures >= 1, 10_000)).toBe(true);
      expect(h2.wake.healthy).toBe(false);
    } finally {
      await h2.stop();
      await m2.running.close();
    }
  }, 60_000);

  it('a wrong key is a 403: the wake path is down, said once, without the key', async () => {
    const remote = makeLedgerRemote();
    const keyFile = join(tmpDir('f2g-wake-key'), 'k');
    writeFileSync(keyFile, KEY + '\n');
    const m = await serveMirror(remote.bare, keyFile);
    const wrong = 'not-the-key-0123456789abcdef';
    const h = await host(remote, m.url, 600_000, wrong);
    try {
      expect(await until(() => h.wake.counts.failures >= 1, 10_000)).toBe(true);
      expect(h.wake.healthy).toBe(false);
      const line = h.log.lines.find((l) => l.event === 'wake.failed');
      expect(line?.fields.error).toMatch(/HTTP 403/);
      expect(JSON.stringify(h.log.lines)).not.toContain(wrong);
    } finally {
      await h.stop();
      await m.running.close();
    }
  }, 60_000);
});
