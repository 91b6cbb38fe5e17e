/**
 * The push-triggered wake-up as systemd runs it: a real `fail2git serve` with serve.mirror on
 * 127.0.0.1 and a real `fail2git reconcile --watch` whose host config has `wake:`, against a
 * bare remote, a file target in a temp dir. A push is enforced long before the poll interval.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeLedgerRemote } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { ledgerFiles, type FixtureTarget } from '../helpers/fixtures.js';
import { CLI } from '../helpers/cli.js';

afterAll(cleanupTmp);

function startProcess(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  return { child, stderr: () => text };
}

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (what()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return what();
}

async function stop(p: { child: ChildProcess }): Promise<void> {
  if (p.child.exitCode !== null) return;
  const gone = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
  if (p.child.exitCode === null) p.child.kill('SIGKILL');
}

/** A temp dir, a host state dir whose file target `alias` (hosts web*) is lists/alias.txt, and a remote banning 192.0.2.7. */
function wakeFixture() {
  const dir = tmpDir('f2g-wake-cli');
  const hostState = join(dir, 'host');
  const listsDir = join(hostState, 'lists');
  mkdirSync(listsDir, { recursive: true });
  const list = join(listsDir, 'alias.txt');
  const targets: FixtureTarget[] = [{ name: 'alias', hosts: ['web*'], options: { path: list, format: 'txt' } }];
  const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }], targets }));
  return { dir, hostState, list, targets, remote };
}

describe('fail2git reconcile --watch with wake: (a site mirror in fail2git serve)', () => {
  it('enforces a push within seconds through the mirror while the remote is polled every 10 minutes', async () => {
    const { dir, hostState, list, targets, remote } = wakeFixture();
    const mirrorCfg = join(dir, 'mirror.yaml');
    writeFileSync(mirrorCfg, [`remote: ${remote.bare}`, 'host: mirror1', `stateDir: ${join(dir, 'mirror')}`, 'publishStatus: false',
      'serve:', '  listen: 127.0.0.1:0', '  fleetRefresh: 1h', '  mirror:', '    interval: 300ms', ''].join('\n'));
    const serve = startProcess(['serve', '--config', mirrorCfg]);
    let host: ReturnType<typeof startProcess> | undefined;
    try {
      expect(await until(() => /"event":"serve\.listening"/.test(serve.stderr()), 20_000), serve.stderr()).toBe(true);
      const address = /"event":"serve\.listening".*?"address":"([^"]+)"/.exec(serve.stderr())![1]!;
      const hostCfg = join(dir, 'host.yaml');
      writeFileSync(hostCfg, [`remote: ${remote.bare}`, 'host: web1', `stateDir: ${hostState}`, 'publishStatus: false', 'interval: 10m',
        'wake:', `  url: http://${address}`, ''].join('\n'));
      host = startProcess(['reconcile', '--watch', '--config', hostCfg]);
      const entries = () => (existsSync(list) ? readFileSync(list, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')) : []);
      expect(await until(() => entries().includes('192.0.2.7'), 30_000), host.stderr()).toBe(true);
      // Let the first long-poll settle in, then push a ban.
      await new Promise((r) => setTimeout(r, 1_000));
      const t0 = Date.now();
      remote.commit(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }, { cidr: '198.51.100.9' }], targets }), 'ban 198.51.100.9');
      expect(await until(() => entries().includes('198.51.100.9'), 30_000), host.stderr()).toBe(true);
      expect(Date.now() - t0).toBeLessThan(30_000); // the interval is 10 minutes
      const events = host.stderr().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string });
      expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['wake.start', 'wake.fetch']));
      expect(events.map((e) => e.event)).not.toContain('wake.failed');
    } finally {
      if (host) await stop(host);
      await stop(serve);
    }
  }, 90_000);

  it('a mirror that answers the long-poll and never the git: the fetch gives up (the wake path is down), and SIGTERM still ends the loop', async () => {
    const { dir, hostState, list, targets, remote } = wakeFixture();
    const asked: string[] = [];
    const stalled = createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url?.startsWith('/v1/ledger/tip')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ branch: 'main', tip: 'f'.repeat(40), stale: false }));
      }
      // /ledger.git/…: accepted, never answered.
    });
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', () => r()));
    const { port } = stalled.address() as AddressInfo;
    const hostCfg = join(dir, 'host.yaml');
    writeFileSync(hostCfg, [`remote: ${remote.bare}`, 'host: web1', `stateDir: ${hostState}`, 'publishStatus: false', 'interval: 10m',
      'wake:', `  url: http://127.0.0.1:${port}`, ''].join('\n'));
    const host = startProcess(['reconcile', '--watch', '--config', hostCfg]);
    try {
      expect(await until(() => asked.some((u) => u.startsWith('/ledger.git/')), 30_000), JSON.stringify(asked) + host.stderr()).toBe(true);
      // Not stuck: the fetch from the silent mirror fails and is said once.
      expect(await until(() => /"event":"wake\.failed".*"code":"E_WAKE_FETCH"/.test(host.stderr()), 40_000), host.stderr()).toBe(true);
      const t0 = Date.now();
      const gone = new Promise<number | null>((r) => host.child.once('exit', (code) => r(code)));
      host.child.kill('SIGTERM');
      // git's HTTP helper outlives a killed `git fetch`; it gives up on a mirror silent for 20 s.
      const code = await Promise.race([gone, new Promise((r) => setTimeout(() => r('still running'), 40_000))]);
      expect(code, host.stderr()).toBe(0);
      expect(Date.now() - t0).toBeLessThan(40_000);
    } finally {
      await stop(host);
      stalled.closeAllConnections();
      stalled.close();
    }
  }, 90_000);
});
