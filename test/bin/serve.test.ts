/**
 * `fail2git serve` as a process on 127.0.0.1: keys (stream and page), read-only, nothing
 * secret in what it answers, a bounded request storm, and that serving never touches what the
 * reconciler enforces. Also `fail2git audit ADDRESS --hosts`, the page's receipts in the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { CLI, runCli } from '../helpers/cli.js';
import { fleetFixture, type FleetFixture } from '../helpers/fleet-hosts.js';
import { cleanupTmp } from '../helpers/tmp.js';

const BOUNCER_KEY = 'bouncer-secret-0123456789abcdef';
const PAGE_KEY = 'page-secret-0123456789abcdef';

interface Reply { status: number; body: string; headers: Record<string, string | string[] | undefined> }

function get(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(opts.body);
  });
}

const basic = (password: string) => ({ Authorization: `Basic ${Buffer.from(`ops:${password}`).toString('base64')}` });
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

describe('fail2git serve on 127.0.0.1', () => {
  let f: FleetFixture;
  let serve: ChildProcess;
  let base = '';
  const reconcilerFiles = ['last-good.json', 'desired-cache.json', 'status.json'];
  let before: Record<string, { text: string; mtime: number }> = {};

  beforeAll(async () => {
    f = await fleetFixture(['serve:', '  listen: 127.0.0.1:0', '  maxConnections: 16', '  bouncerKeys:', '    - {name: fw, keyFile: bouncer.key}', '  pageKeys:', '    - {name: ops, keyFile: page.key}']);
    writeFileSync(join(f.dir, 'bouncer.key'), `${BOUNCER_KEY}\n`, { mode: 0o600 });
    writeFileSync(join(f.dir, 'page.key'), `${PAGE_KEY}\n`, { mode: 0o600 });
    const state = join(f.dir, 'state');
    before = Object.fromEntries(reconcilerFiles.map((n) => [n, { text: readFileSync(join(state, n), 'utf8'), mtime: statSync(join(state, n)).mtimeMs }]));
    serve = spawn(process.execPath, [CLI, 'serve', '--config', f.config], { stdio: ['ignore', 'ignore', 'pipe'] });
    base = await new Promise<string>((resolve, reject) => {
      let text = '';
      serve.stderr!.on('data', (b: Buffer) => {
        text += b.toString();
        const m = /"event":"serve\.listening".*?"address":"([^"]+)"/.exec(text);
        if (m) resolve(`http://${m[1]}`);
      });
      serve.once('exit', (code) => reject(new Error(`serve exited ${code}: ${text}`)));
    });
  }, 120_000);

  afterAll(() => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
    cleanupTmp();
  });

  it('the stream answers a listed key with every decision of the last good commit, and a missing or wrong key with 403 and no data', async () => {
    const ok = await get(base, '/v1/decisions/stream?startup=true', { headers: { 'X-Api-Key': BOUNCER_KEY } });
    expect(ok.status).toBe(200);
    const doc = JSON.parse(ok.body) as { new: { value: string; scope: string; type: string }[]; deleted: unknown[] };
    expect(doc.new.map((d) => `${d.scope}:${d.value}:${d.type}`).sort()).toEqual(['Ip:192.0.2.10:ban', 'Ip:203.0.113.7:ban', 'Range:198.51.100.0/24:ban']);
    const variants: Record<string, string>[] = [{}, { 'X-Api-Key': 'wrong-0123456789abcdef' }, { 'X-Api-Key': PAGE_KEY }];
    for (const headers of variants) {
      const r = await get(base, '/v1/decisions/stream?startup=true', { headers });
      expect(r.status).toBe(403);
      expect(r.body).toBe('{"message":"access forbidden"}');
    }
  });

  it('the page needs a page key (HTTP Basic), and neither the page nor the stream holds a secret', async () => {
    expect((await get(base, '/')).status).toBe(401);
    expect((await get(base, '/', { headers: basic('wrong-0123456789abcdef') })).status).toBe(401);
    expect((await get(base, '/', { headers: { 'X-Api-Key': BOUNCER_KEY } })).status).toBe(401);
    const page = await get(base, '/?address=192.0.2.10', { headers: basic(PAGE_KEY) });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    const stream = await get(base, '/v1/decisions/stream', { headers: { 'X-Api-Key': BOUNCER_KEY } });
    for (const body of [page.body, stream.body]) {
      for (const secret of [BOUNCER_KEY, PAGE_KEY, 'bouncer.key', 'page.key', f.remote.bare]) expect(body).not.toContain(secret);
    }
  });

  it('is read-only: other methods get 405, request bodies 413', async () => {
    expect((await get(base, '/v1/decisions/stream', { method: 'POST', headers: { 'X-Api-Key': BOUNCER_KEY } })).status).toBe(405);
    expect((await get(base, '/v1/decisions', { method: 'DELETE', headers: { 'X-Api-Key': BOUNCER_KEY } })).status).toBe(405);
    expect((await get(base, '/', { headers: { ...basic(PAGE_KEY), 'Content-Length': '5' }, body: 'hello' })).status).toBe(413);
  });

  it('a bounded request storm leaves it responsive with bounded memory', async () => {
    const rss0 = rssKb(serve.pid!);
    let answered = 0;
    let refused = 0;
    const paths = ['/', '/?address=192.0.2.10', '/v1/decisions/stream?startup=true', '/nothing', `/${'x'.repeat(6000)}`];
    const worker = async (w: number) => {
      for (let i = 0; i < 60; i++) {
        const path = paths[(w + i) % paths.length]!;
        const headers = i % 3 === 0 ? basic(PAGE_KEY) : { 'X-Api-Key': `wrong-${w}-${i}-0123456789`, 'X-Filler': 'y'.repeat(1000) };
        await get(base, path, { headers }).then(() => answered++, () => refused++);
      }
    };
    await Promise.all(Array.from({ length: 64 }, (_, w) => worker(w)));
    expect(answered + refused).toBe(64 * 60);
    // Beyond maxConnections (16) a connection is closed at once: refused, by design.
    expect(answered).toBeGreaterThan(0);
    const t0 = Date.now();
    expect((await get(base, '/healthz')).body).toBe('ok\n');
    expect(Date.now() - t0).toBeLessThan(2_000);
    const pull = await get(base, '/v1/decisions/stream', { headers: { 'X-Api-Key': BOUNCER_KEY } });
    expect(JSON.parse(pull.body)).toEqual({ new: [], deleted: [] });
    expect(rssKb(serve.pid!) - rss0).toBeLessThan(100 * 1024);
  }, 120_000);

  it('serving and stopping change nothing the reconciler enforces (its state files stay as they were)', async () => {
    const gone = new Promise((r) => serve.once('exit', r));
    serve.kill('SIGTERM');
    await gone;
    expect(serve.exitCode).toBe(0);
    const state = join(f.dir, 'state');
    for (const n of reconcilerFiles) {
      expect(readFileSync(join(state, n), 'utf8')).toBe(before[n]!.text);
      expect(statSync(join(state, n)).mtimeMs).toBe(before[n]!.mtime);
    }
  }, 30_000);
});

describe('fail2git audit ADDRESS --hosts', () => {
  let f: FleetFixture;
  beforeAll(async () => {
    f = await fleetFixture();
  }, 120_000);
  afterAll(cleanupTmp);

  it('gives each host\'s receipt in text and JSON: enforced (since at the latest its last run) or not yet', () => {
    const json = runCli(['audit', '192.0.2.10', '--hosts', '--json', '--config', f.config, '--ledger', join(f.dir, 'state', 'ledger')]);
    expect(json.code, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout) as { events: unknown[]; receipts: { status: string; commit: string; hosts: { host: string; state: string; sinceAtLatest?: string; lagCommits?: number }[] } };
    expect(r.events.length).toBe(1);
    expect(r.receipts.status).toBe('banned');
    expect(r.receipts.commit).toBe(f.commits.ban10);
    const by = Object.fromEntries(r.receipts.hosts.map((h) => [h.host, h]));
    expect([by.web1?.state, by.db1?.state, by.web2?.state, by.serve1?.state]).toEqual(['enforced', 'enforced', 'not yet', 'enforced']);
    expect(by.db1?.sinceAtLatest).toMatch(/^\d{4}-/);
    expect(by.web2?.lagCommits).toBe(2);
    const text = runCli(['audit', '192.0.2.10', '--hosts', '--config', f.config, '--ledger', join(f.dir, 'state', 'ledger')]);
    expect(text.stdout).toMatch(/^receipts: 192\.0\.2\.10 is banned by [0-9a-f]{12} /m);
    expect(text.stdout).toMatch(/^web2\s+not yet\s+-\s+[0-9a-f]{12}\s+2$/m);
  });
});
