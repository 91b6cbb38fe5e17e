/** The server in-process: TLS, HEAD, the page on loopback, and one-line start-up errors. */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { startServer, isLoopback, splitListen } from '../../../controller/serve/server.js';
import { ServedSetReader } from '../../../controller/serve/served-set.js';
import { writeLastGood } from '../../../controller/reconcile/last-good.js';
import { buildCache, writeDesiredCache } from '../../../controller/desired/cache.js';
import { createMemoryLogger } from '../../../controller/lib/log.js';
import type { ServeConfig } from '../../../controller/config/host-config.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

const KEY = 'tls-bouncer-key-0123456789';
const REV = 'a'.repeat(40);

function stateWithBans(cidrs: string[]): string {
  const dir = tmpDir('f2g-serve-state');
  const now = new Date(Date.now() - 1000);
  writeLastGood(dir, REV, now);
  const policy = { defaultTtl: '1h', broadestPrefix: { ipv4: 8, ipv6: 32 }, banPrefix: { ipv4: 32, ipv6: 128 }, maxRemovePerRun: '50%' } as never;
  writeDesiredCache(dir, buildCache(REV, { policy, targets: [], allow: [] }, '', now, cidrs.map((cidr) => ({ cidr, family: cidr.includes(':') ? 6 : 4 })), {}));
  return dir;
}

function config(extra: Partial<ServeConfig>): ServeConfig {
  return { listen: '127.0.0.1:0', bouncerKeys: [], pageKeys: [], maxConnections: 8, fleetRefresh: '30s', ...extra };
}

describe('serve, in-process', () => {
  it('speaks HTTPS only when given a certificate and key, and serves the last good commit\'s set', async () => {
    const dir = tmpDir('f2g-serve-tls');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    writeFileSync(join(dir, 'k'), KEY);
    const stateDir = stateWithBans(['192.0.2.1', '203.0.113.0/24']);
    const s = await startServer(config({ tls: { cert, key }, bouncerKeys: [{ name: 'b', keyFile: join(dir, 'k') }] }), {
      stateDir, served: new ServedSetReader(stateDir, async () => undefined), log: createMemoryLogger(), now: () => new Date(),
    });
    try {
      const get = (method: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(`https://${s.address}/v1/decisions/stream?startup=true`, { method, ca: readFileSync(cert), headers: { 'X-Api-Key': KEY } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      // HEAD answers without a pull: the GET after it is still this bouncer's first.
      expect((await get('HEAD')).status).toBe(200);
      const r = JSON.parse((await get('GET')).body) as { new: { value: string }[] };
      expect(r.new.map((d) => d.value)).toEqual(['192.0.2.1', '203.0.113.0/24']);
      await expect(fetch(`http://${s.address}/healthz`)).rejects.toThrow();
    } finally {
      await s.close();
    }
  });

  it('answers live bouncers: the decisions holding for one address, null when none, 403 without a key', async () => {
    const dir = tmpDir('f2g-serve-live');
    writeFileSync(join(dir, 'k'), KEY);
    const stateDir = stateWithBans(['192.0.2.1', '203.0.113.0/24']);
    const s = await startServer(config({ bouncerKeys: [{ name: 'b', keyFile: join(dir, 'k') }] }), {
      stateDir, served: new ServedSetReader(stateDir, async () => undefined), log: createMemoryLogger(), now: () => new Date(),
    });
    try {
      const ask = async (q: string, key = KEY) => {
        const r = await fetch(`http://${s.address}/v1/decisions?${q}`, { headers: { 'X-Api-Key': key } });
        return { status: r.status, body: await r.text() };
      };
      const hit = JSON.parse((await ask('ip=203.0.113.5')).body) as { value: string; scope: string; type: string }[];
      expect(hit.map((d) => `${d.scope}:${d.value}:${d.type}`)).toEqual(['Range:203.0.113.0/24:ban']);
      expect(await ask('ip=198.51.100.1')).toEqual({ status: 200, body: 'null' });
      expect((await ask('ip=nonsense')).status).toBe(400);
      expect(await ask('ip=192.0.2.1', 'wrong-0123456789abcdef')).toEqual({ status: 403, body: '{"message":"access forbidden"}' });
    } finally {
      await s.close();
    }
  });

  it('a pull whose answer never reached the bouncer is answered again at its next pull', async () => {
    const dir = tmpDir('f2g-serve-lost');
    writeFileSync(join(dir, 'k'), KEY);
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const served = { at: async () => { await gate; return { rev: REV, entries: [{ cidr: '192.0.2.1', family: 4 as const }] }; } } as unknown as ServedSetReader;
    const log = createMemoryLogger();
    const s = await startServer(config({ bouncerKeys: [{ name: 'b', keyFile: join(dir, 'k') }] }), { stateDir: dir, served, log, now: () => new Date() });
    try {
      const lost = httpRequest(`http://${s.address}/v1/decisions/stream?startup=true`, { headers: { 'X-Api-Key': KEY } });
      lost.on('error', () => undefined);
      lost.end();
      await new Promise((r) => setTimeout(r, 200));
      lost.destroy();
      await new Promise((r) => setTimeout(r, 100));
      open();
      await new Promise((r) => setTimeout(r, 200));
      expect(log.lines.map((l) => l.event)).toContain('serve.pull-lost');
      const next = await fetch(`http://${s.address}/v1/decisions/stream`, { headers: { 'X-Api-Key': KEY } });
      expect(((await next.json()) as { new: { value: string }[] }).new.map((d) => d.value)).toEqual(['192.0.2.1']);
      const after = await fetch(`http://${s.address}/v1/decisions/stream`, { headers: { 'X-Api-Key': KEY } });
      expect(await after.json()).toEqual({ new: [], deleted: [] });
    } finally {
      await s.close();
    }
  });

  it('serves the page without a key only on loopback', async () => {
    const stateDir = stateWithBans([]);
    const s = await startServer(config({}), { stateDir, served: new ServedSetReader(stateDir, async () => undefined), log: createMemoryLogger(), now: () => new Date(), page: async () => '<!doctype html><p>page' });
    try {
      const r = await fetch(`http://${s.address}/`);
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('page');
    } finally {
      await s.close();
    }
    expect(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('::ffff:127.0.0.1') && isLoopback('[::1]')).toBe(true);
    expect(isLoopback('0.0.0.0') || isLoopback('192.0.2.1') || isLoopback('::')).toBe(false);
  });

  it('says in one line what is wrong with the listen address, a busy port or a key file', async () => {
    expect(() => splitListen('localhost')).toThrow(/^serve\.listen "localhost" is not ADDRESS:PORT$/);
    const stateDir = stateWithBans([]);
    const deps = { stateDir, served: new ServedSetReader(stateDir, async () => undefined), log: createMemoryLogger(), now: () => new Date() };
    const s = await startServer(config({}), deps);
    try {
      await expect(startServer(config({ listen: s.address }), deps)).rejects.toMatchObject({ code: 'E_SERVE_LISTEN', message: `cannot listen on ${s.address}: EADDRINUSE` });
    } finally {
      await s.close();
    }
    await expect(startServer(config({ bouncerKeys: [{ name: 'x', keyFile: '/nonexistent/x.key' }] }), deps)).rejects.toMatchObject({
      code: 'E_SERVE_KEY', message: '/nonexistent/x.key: cannot read the bouncer key "x" (ENOENT)',
    });
  });
});
