/**
 * The ledger's allowlist on the fail2ban host itself, with the real fail2ban-server: the
 * jail's `ignorecommand` (as docs/fail2ban.md configures it) asks `fail2git hook ignore`, so
 * an allowlisted address is ignored by fail2ban and no local action next to ours bans it; a
 * refusal by our hook (a manual banip fail2ban does not filter) is one line, not a failure
 * fail2ban retries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLedgerRemote, type LedgerRemote } from '../helpers/git.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { makeHost, quietHosts, remoteBans, settled, waitFor, type TestHost } from '../helpers/hook-host.js';
import { cli } from '../helpers/cli.js';
import { fail2banAvailable, setUpFail2ban, type Fail2ban } from '../helpers/fail2ban.js';

const available = fail2banAvailable();

describe.skipIf(!available)('the allowlist reaches fail2ban (ignorecommand)', () => {
  let remote: LedgerRemote;
  let host: TestHost;
  let f2b: Fail2ban;

  beforeAll(async () => {
    remote = makeLedgerRemote(); // bans/allow.yaml: 192.0.2.0/28, 198.51.100.250, 2001:db8:1::/64
    host = makeHost(remote.bare, 'allowhost');
    const first = await cli(['flush', '--config', host.config]); // caches the allowlist in guard.json
    expect(first.code, first.stderr).toBe(0);
    f2b = setUpFail2ban(host, { jail: 'allowjail', ignore: true });
    f2b.start();
  }, 120_000);

  afterAll(async () => {
    try {
      f2b?.stop();
    } finally {
      await quietHosts(); // the resident flusher the action line started
      cleanupTmp();
    }
  });

  const banned = (ip: string) => remoteBans(remote.bare).some((b) => b.cidr === ip);

  it('an allowlisted address hitting the jail is ignored by fail2ban: the local action never bans it', async () => {
    appendFileSync(f2b.log, 'FAIL login from 192.0.2.5\nFAIL login from 2001:db8:1::77\nFAIL login from 203.0.113.240\n');
    // The one that is not allowlisted is banned locally and network-wide: the jail did run.
    await waitFor('local ban of 203.0.113.240', () => f2b.localBans().includes('203.0.113.240'), 60_000);
    await waitFor('ban on remote', () => banned('203.0.113.240'), 60_000);
    await waitFor('flusher done', () => settled(host), 60_000);
    expect(f2b.localBans()).not.toContain('192.0.2.5');
    expect(f2b.localBans()).not.toContain('2001:db8:1::77');
    const log = f2b.serverLog();
    expect(log).toMatch(/\[allowjail\] Ignore 192\.0\.2\.5 by command/);
    expect(log).toMatch(/\[allowjail\] Ignore 2001:db8:1::77 by command/);
    expect(log).not.toMatch(/ERROR/);
    expect(f2b.client('status', 'allowjail')).not.toMatch(/192\.0\.2\.5/);
  }, 120_000);

  it('hook ignore answers 0 for an allowlisted address and 1 otherwise, with nothing else', async () => {
    const yes = await cli(['hook', 'ignore', '--ip=198.51.100.250', `--config=${host.config}`]);
    expect(yes).toMatchObject({ code: 0, stderr: '' });
    expect(yes.stdout).toBe('fail2git: 198.51.100.250 is allowlisted (198.51.100.250)\n');
    const no = await cli(['hook', 'ignore', '--ip=198.51.100.251', `--config=${host.config}`]);
    expect(no).toMatchObject({ code: 1, stdout: '', stderr: '' });
    const bad = await cli(['hook', 'ignore', '--ip=not-an-ip', `--config=${host.config}`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a refusal by our hook (banip of an allowlisted address) is one line, run once, no ERROR, kept in spool/refused/', async () => {
    f2b.client('set', 'allowjail', 'banip', '192.0.2.9');
    const refusedDir = join(host.spool, 'refused');
    const refusedFiles = () => {
      try {
        return readdirSync(refusedDir).filter((n) => n.endsWith('.json'));
      } catch {
        return [];
      }
    };
    await waitFor('refusal recorded', () => refusedFiles().length > 0, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // a retry would come at once
    expect(refusedFiles()).toHaveLength(1);
    const rec = JSON.parse(readFileSync(join(refusedDir, refusedFiles()[0]!), 'utf8')) as { cidr: string; refused: string };
    expect(rec).toMatchObject({ cidr: '192.0.2.9', refused: expect.stringMatching(/allowlisted \(192\.0\.2\.0\/28\)/) });
    expect(f2b.serverLog()).not.toMatch(/ERROR|Failed to execute ban/);
    expect(banned('192.0.2.9')).toBe(false);
    const pending = await cli(['pending', '--config', host.config]);
    expect(pending.stdout).toMatch(/refused .*192\.0\.2\.9.*allowlisted/);
  }, 60_000);
});
