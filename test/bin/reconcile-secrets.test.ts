/**
 * Secrets never leave the host (issue 11, item 4): a Proxmox API (or a proxy before it) that
 * echoes the caller's token secret in a 401 body, a 500 body or a response header, and a remote
 * URL carrying a password. The real CLI runs against a real git remote and the HTTPS emulator;
 * the secret must appear nowhere in stdout, stderr, status.json, the .prom textfile, or
 * anything pushed to the ledger remote (the fleet status ref).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLedgerRemote } from '../helpers/git.js';
import { PveEmulator, type Fault } from '../helpers/pve-emulator.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { ledgerFiles } from '../helpers/fixtures.js';
import { cli, CLI } from '../helpers/cli.js';

const TOKEN = 'sync@pve!ipset';
const running: PveEmulator[] = [];
afterAll(cleanupTmp);
afterEach(async () => { while (running.length) await running.pop()!.close(); });

/** Every file under `dir` as text (status.json, *.prom, caches, the fleet record kept locally). */
function allFiles(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.parentPath.includes(`${join(dir, 'ledger')}`))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8')).join('\n');
}

/** Every object in the bare remote: whatever the host pushed is in there. */
const pushed = (bare: string): string => execFileSync('git', ['-C', bare, 'cat-file', '--batch-all-objects', '--batch'], { encoding: 'utf8', maxBuffer: 64 << 20 });

describe('a token secret echoed by the API never leaves the host', () => {
  for (const kind of ['echo401', 'echo500', 'echoHeader'] as Fault['kind'][]) {
    it(`${kind}: not in stdout, stderr, status.json, the textfile, or the pushed fleet record`, async () => {
      const secret = randomUUID();
      const emu = await PveEmulator.start({ tokens: { [TOKEN]: { secret, privs: ['Sys.Audit', 'Sys.Modify'] } }, authFailDelayMs: 10 });
      running.push(emu);
      emu.inject({ kind, times: 1000 });
      const dir = tmpDir('f2g-secret-cli');
      const secretFile = join(dir, 'pve-token');
      writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
      const remote = makeLedgerRemote(ledgerFiles({
        bans: [{ cidr: '192.0.2.7' }],
        targets: [{ name: 'dc', driver: 'pve-api', options: { credential: 'dc', retries: 0 } }],
      }));
      const stateDir = join(dir, 'state');
      const config = join(dir, 'config.yaml');
      writeFileSync(config, [
        `remote: ${remote.bare}`, 'host: pve1', `stateDir: ${stateDir}`,
        'pveCredentials:', '  dc:', `    url: ${emu.url}`, `    tokenId: "${TOKEN}"`, `    tokenSecretFile: ${secretFile}`, `    fingerprint: "${emu.fingerprint256}"`, '',
      ].join('\n'), { mode: 0o600 });
      const r = await cli(['reconcile', '--config', config]);
      const st = await cli(['status', '--config', config]);
      // The run did reach the echoing server and failed on it.
      expect(r.code).not.toBe(0);
      expect(emu.requests.length).toBeGreaterThan(0);
      const status = JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8')) as { targets: Record<string, { reason: string; error?: string }> };
      expect(status.targets.dc?.reason).toBe('ObserveFailed');
      if (kind !== 'echoHeader') expect(status.targets.dc?.error).toMatch(/\*\*\*/);
      expect(execFileSync('git', ['-C', remote.bare, 'for-each-ref', 'refs/fail2git/'], { encoding: 'utf8' })).toContain('refs/fail2git/status/pve1');
      for (const [where, text] of [['stdout', r.stdout], ['stderr', r.stderr], ['status', st.stdout + st.stderr], ['stateDir', allFiles(stateDir)], ['remote', pushed(remote.bare)]] as const) {
        expect({ where, leaked: text.includes(secret) }).toEqual({ where, leaked: false });
      }
    });
  }
});

describe('a password in the remote URL never leaves the host', () => {
  it('an unreachable https remote with user:password: the password is in no output', async () => {
    const dir = tmpDir('f2g-secret-url');
    const password = `pw-${randomUUID()}`;
    const r = await cli(['reconcile', '--remote', `https://deploy:${password}@127.0.0.1:9/ledger.git`, '--host', 'gw1', '--state-dir', join(dir, 'state')]);
    expect(r.code).not.toBe(0);
    for (const text of [r.stdout, r.stderr, allFiles(join(dir, 'state'))]) expect(text.includes(password)).toBe(false);
    expect(readFileSync(join(dir, 'state', 'status.json'), 'utf8')).toContain('https://***@127.0.0.1:9/ledger.git');
  });
});
