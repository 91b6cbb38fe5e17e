/**
 * A fail2ban-only host exports its spool's health (hooks/spool.ts, fail2git-spool.prom beside
 * the metrics file): what waits and for how long, what was refused, and when the host last
 * delivered everything; the last success survives failed flushes, so an alert can say
 * "this host has not pushed for an hour" (deploy/prometheus/fail2git.rules.yml).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLedgerRemote } from '../helpers/git.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { hookArgs, makeHost, quietHosts, setRemote, spooled } from '../helpers/hook-host.js';
import { cli } from '../helpers/cli.js';
import { renderSpoolMetrics } from '../../hooks/spool.js';

afterAll(async () => {
  await quietHosts();
  cleanupTmp();
});

const metric = (text: string, name: string): number => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} missing from:\n${text}`);
  return Number(m[1]);
};

describe('fail2git-spool.prom', () => {
  it('renders every spool gauge once, with HELP and TYPE', () => {
    const text = renderSpoolMetrics({ pending: 2, refused: 1, bad: 0, oldestPendingAgeSeconds: 42, lastFlushSuccessSeconds: 1_700_000_000 });
    for (const [name, value] of [['fail2git_spool_pending', 2], ['fail2git_spool_refused', 1], ['fail2git_spool_bad', 0],
      ['fail2git_spool_oldest_pending_age_seconds', 42], ['fail2git_spool_last_flush_success_timestamp_seconds', 1_700_000_000]] as const) {
      expect(metric(text, name)).toBe(value);
      expect(text).toContain(`# TYPE ${name} gauge\n`);
    }
  });

  it('says when the host last delivered, keeps it through an outage, and ages what waits', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare);
    expect((await cli(hookArgs(host, 'ban', '198.51.100.61'))).code).toBe(0);
    expect((await cli(['flush', '--config', host.config])).code).toBe(0);
    const prom = () => readFileSync(join(host.stateDir, 'fail2git-spool.prom'), 'utf8');
    const delivered = metric(prom(), 'fail2git_spool_last_flush_success_timestamp_seconds');
    expect(Math.abs(delivered - Date.now() / 1000)).toBeLessThan(60);
    expect(metric(prom(), 'fail2git_spool_pending')).toBe(0);
    expect(metric(prom(), 'fail2git_spool_oldest_pending_age_seconds')).toBe(0);

    // The remote goes away: the next ban waits, and the last success stays what it was.
    await quietHosts();
    setRemote(host, join(remote.bare, 'gone.git'));
    expect((await cli(hookArgs(host, 'ban', '198.51.100.62'))).code).toBe(0);
    await quietHosts();
    await new Promise((r) => setTimeout(r, 1100));
    expect((await cli(['flush', '--config', host.config])).code).not.toBe(0);
    expect(spooled(host)).toHaveLength(1);
    expect(metric(prom(), 'fail2git_spool_pending')).toBe(1);
    expect(metric(prom(), 'fail2git_spool_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(1);
    expect(metric(prom(), 'fail2git_spool_last_flush_success_timestamp_seconds')).toBe(delivered);
  });
});
