/**
 * serve's read mirror with real parts: a bare remote, the real `serve` (startServe) with
 * serve.mirror on 127.0.0.1, real git clients over smart HTTP. Long-poll, read-only git,
 * keys, and the webhook that only makes the mirror poll.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServe } from '../../../controller/serve/run.js';
import type { HostConfig, MirrorConfig, ServeConfig } from '../../../controller/config/host-config.js';
import { createMemoryLogger } from '../../../controller/lib/log.js';
import { hubSignature } from '../../../controller/mirror/webhook.js';
import { git, makeLedgerRemote, type LedgerRemote } from '../../helpers/git.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

const KEY = 'mirror-host-key-0123456789';
const SECRET = 'webhook-secret-0123456789abcdef';

function hostConfig(remote: LedgerRemote, extra: Partial<HostConfig> = {}): HostConfig {
  const stateDir = tmpDir('f2g-mirror-state');
  return {
    remote: remote.bare, branch: 'main', host: 'mirror1', stateDir, requireSignedCommits: false, publishStatus: false,
    interval: '30s', metricsFile: join(stateDir, 'fail2git.prom'), path: join(stateDir, 'config.yaml'), ...extra,
  };
}

async function serveMirror(remote: LedgerRemote, mirror: Partial<MirrorConfig> = {}) {
  const cfg = hostConfig(remote);
  const serve: ServeConfig = {
    listen: '127.0.0.1:0', bouncerKeys: [], pageKeys: [], maxConnections: 64, fleetRefresh: '1h',
    mirror: { interval: '200ms', keys: [], ...mirror },
  };
  const log = createMemoryLogger();
  const running = await startServe(cfg, serve, { log, now: () => new Date() });
  const base = `http://${running.address}`;
  // The first poll runs beside start-up: wait until the mirror has the tip.
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${base}/v1/ledger/tip`, { headers: { 'X-Api-Key': KEY } });
    if (r.status === 200) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return { cfg, running, base, log };
}

function gitAsync(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...env }, timeout: 60_000 }, (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }));
  });
}

describe('serve with a read mirror', () => {
  it('answers the tip at once when it differs from known, else holds the long-poll until a push reaches the mirror', async () => {
    const remote = makeLedgerRemote();
    const s = await serveMirror(remote);
    try {
      const first = (await (await fetch(`${s.base}/v1/ledger/tip?known=&wait=30`)).json()) as { branch: string; tip: string; stale: boolean };
      expect(first).toMatchObject({ branch: 'main', tip: remote.head(), stale: false });
      const t0 = Date.now();
      const held = fetch(`${s.base}/v1/ledger/tip?known=${first.tip}&wait=30`).then(async (r) => ({ at: Date.now(), body: (await r.json()) as { tip: string } }));
      await new Promise((r) => setTimeout(r, 1_000));
      const pushed = remote.commit({ 'notes.txt': 'news\n' }, 'a push');
      const answer = await held;
      expect(answer.body.tip).toBe(pushed);
      expect(answer.at - t0).toBeGreaterThanOrEqual(900); // it was held, not answered at once
      expect(answer.at - t0).toBeLessThan(20_000);
      // A bad `known` is a 400, not a held request.
      expect((await fetch(`${s.base}/v1/ledger/tip?known=nope`)).status).toBe(400);
    } finally {
      await s.running.close();
    }
  });

  it('holds a long-poll past serve\'s own 10 s request and 15 s idle-socket timeouts and then answers the same tip', async () => {
    const remote = makeLedgerRemote();
    const s = await serveMirror(remote);
    try {
      const t0 = Date.now();
      const r = await fetch(`${s.base}/v1/ledger/tip?known=${remote.head()}&wait=17`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { tip: string }).tip).toBe(remote.head());
      expect(Date.now() - t0).toBeGreaterThanOrEqual(16_500);
    } finally {
      await s.running.close();
    }
  }, 40_000);

  it('serves the mirror read-only over smart HTTP: a clone works (protocol v2), a push is refused and the remote is unchanged', async () => {
    const remote = makeLedgerRemote();
    const s = await serveMirror(remote);
    try {
      const dir = tmpDir('f2g-mirror-client');
      const clone = join(dir, 'c');
      const r = await gitAsync(dir, ['-c', 'protocol.version=2', 'clone', '-q', `${s.base}/ledger.git`, clone]);
      expect(r).toMatchObject({ code: 0 });
      expect(git(clone, 'rev-parse', 'HEAD')).toBe(remote.head());
      // Again, with the v2 capabilities now answered from memory; and the exact tip by its id.
      const pushed = remote.commit({ 'notes.txt': 'more\n' }, 'more');
      while (((await (await fetch(`${s.base}/v1/ledger/tip`)).json()) as { tip: string }).tip !== pushed) await new Promise((res) => setTimeout(res, 50));
      expect(await gitAsync(clone, ['-c', 'protocol.version=2', 'fetch', '-q', `${s.base}/ledger.git`, `+${pushed}:refs/test/tip`])).toMatchObject({ code: 0 });
      expect(git(clone, 'rev-parse', 'refs/test/tip')).toBe(pushed);
      expect(await gitAsync(dir, ['-c', 'protocol.version=2', 'clone', '-q', `${s.base}/ledger.git`, join(dir, 'c2')])).toMatchObject({ code: 0 });
      writeFileSync(join(clone, 'x.txt'), 'x\n');
      git(clone, 'add', '-A');
      git(clone, 'commit', '-q', '-m', 'try to push');
      const before = remote.head();
      const push = await gitAsync(clone, ['push', 'origin', 'HEAD:main']);
      expect(push.code).not.toBe(0);
      expect(push.stderr).toMatch(/403/);
      expect(remote.head()).toBe(before);
      expect((await fetch(`${s.base}/ledger.git/info/refs?service=git-receive-pack`)).status).toBe(403);
      expect((await fetch(`${s.base}/ledger.git/git-receive-pack`, { method: 'POST', body: '0000' })).status).toBe(403);
      // Dumb HTTP and anything else under /ledger.git is not served.
      expect((await fetch(`${s.base}/ledger.git/HEAD`)).status).toBe(404);
      // serve's other paths stay read-only.
      expect((await fetch(`${s.base}/healthz`, { method: 'POST', body: 'x' })).status).toBe(405);
    } finally {
      await s.running.close();
    }
  });

  it('with serve.mirror.keys wants a key for the long-poll and git: none or a wrong one gets 403, the right one the tip', async () => {
    const remote = makeLedgerRemote();
    const keyFile = join(tmpDir('f2g-mirror-key'), 'k');
    writeFileSync(keyFile, KEY + '\n');
    const s = await serveMirror(remote, { keys: [{ name: 'site-a', keyFile }] });
    try {
      expect((await fetch(`${s.base}/v1/ledger/tip`)).status).toBe(403);
      expect((await fetch(`${s.base}/v1/ledger/tip`, { headers: { 'X-Api-Key': 'wrong-key-0123456789' } })).status).toBe(403);
      expect((await fetch(`${s.base}/ledger.git/info/refs?service=git-upload-pack`, { headers: { 'X-Api-Key': 'wrong-key-0123456789' } })).status).toBe(403);
      const ok = await fetch(`${s.base}/v1/ledger/tip`, { headers: { 'X-Api-Key': KEY } });
      expect(ok.status).toBe(200);
      const dir = tmpDir('f2g-mirror-client');
      const withKey = await gitAsync(dir, ['ls-remote', `${s.base}/ledger.git`, 'refs/heads/main'], { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `X-Api-Key: ${KEY}` });
      expect(withKey.code).toBe(0);
      expect((await gitAsync(dir, ['ls-remote', `${s.base}/ledger.git`])).code).not.toBe(0);
      // The key is never logged.
      expect(JSON.stringify(s.log.lines)).not.toContain(KEY);
    } finally {
      await s.running.close();
    }
  });

  it('a webhook with a bad signature is refused and polls nothing; a good one (GitHub or GitLab style) makes the mirror poll at once', async () => {
    const remote = makeLedgerRemote();
    const secretFile = join(tmpDir('f2g-mirror-secret'), 's');
    writeFileSync(secretFile, SECRET + '\n');
    // A poll interval far beyond the test: only the webhook can make the mirror poll.
    const s = await serveMirror(remote, { interval: '1h', webhookSecretFile: secretFile });
    try {
      const tipNow = async () => ((await (await fetch(`${s.base}/v1/ledger/tip`)).json()) as { tip: string }).tip;
      const seeded = await tipNow();
      const pushed = remote.commit({ 'notes.txt': 'hooked\n' }, 'a push the webhook announces');
      const body = JSON.stringify({ ref: 'refs/heads/main', after: 'f'.repeat(40) });
      const hook = (headers: Record<string, string>, b = body) => fetch(`${s.base}/v1/hooks/push`, { method: 'POST', body: b, headers: { 'Content-Type': 'application/json', ...headers } });
      expect((await hook({ 'X-Hub-Signature-256': hubSignature('another-secret-0123456789', body) })).status).toBe(403);
      expect((await hook({ 'X-Gitlab-Token': 'not-the-secret-0123456789' })).status).toBe(403);
      expect((await hook({})).status).toBe(401);
      expect((await hook({ 'X-Hub-Signature-256': hubSignature(SECRET, body) }, 'x'.repeat((1 << 20) + 1))).status).toBe(413);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await tipNow()).toBe(seeded); // no poll happened
      expect(s.running.mirror!.counts.hook).toBe(0);
      expect((await hook({ 'X-Hub-Signature-256': hubSignature(SECRET, body) })).status).toBe(202);
      const t0 = Date.now();
      while ((await tipNow()) !== pushed && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      expect(await tipNow()).toBe(pushed);
      const again = remote.commit({ 'notes.txt': 'hooked twice\n' }, 'another push');
      expect((await hook({ 'X-Gitlab-Token': SECRET })).status).toBe(202);
      while ((await tipNow()) !== again && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 50));
      expect(await tipNow()).toBe(again);
      expect(JSON.stringify(s.log.lines)).not.toContain(SECRET);
    } finally {
      await s.running.close();
    }
  });

  it('without webhookSecretFile the webhook path does not exist (404)', async () => {
    const remote = makeLedgerRemote();
    const s = await serveMirror(remote);
    try {
      const r = await fetch(`${s.base}/v1/hooks/push`, { method: 'POST', body: '{}' });
      expect(r.status).toBe(404);
    } finally {
      await s.running.close();
    }
  });
});
