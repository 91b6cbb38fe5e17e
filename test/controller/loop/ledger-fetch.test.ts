import { afterAll, describe, expect, it } from 'vitest';
import { LedgerFetch, idlePollCapMs, nextPollGapMs } from '../../../controller/loop/ledger-fetch.js';
import { makeLedgerRemote, startStalledRemote } from '../../helpers/git.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';
import { execRunner } from '../../../controller/lib/exec.js';
import { join } from 'node:path';

afterAll(() => cleanupTmp());

describe('LedgerFetch', () => {
  it('fetches beside the caller and wakes it when a new tip arrived', async () => {
    const remote = makeLedgerRemote();
    let news = 0;
    const f = new LedgerFetch({ remote: remote.bare, dir: join(tmpDir('f2g-fetch'), 'ledger'), branch: 'main', run: execRunner, intervalMs: 1_000, onNews: () => news++ });
    const started = Date.now();
    f.kick();
    expect(Date.now() - started).toBeLessThan(500); // never waits
    expect(await f.settle(30_000)).toBe(true);
    expect(news).toBe(1);
    expect(f.lastError).toBeUndefined();
    f.kick(); // not due yet (half an interval): nothing starts
    expect(f.busy).toBe(false);
  });

  it('reports a remote that accepts and never answers as stalled once an interval passed, before git gives up', async () => {
    const stalled = await startStalledRemote();
    let clock = Date.now();
    const f = new LedgerFetch({ remote: stalled.url('ledger.git'), dir: join(tmpDir('f2g-fetch'), 'ledger'), branch: 'main', run: execRunner, intervalMs: 1_000, onNews: () => undefined, now: () => clock });
    try {
      f.kick();
      expect(f.lastError).toBeUndefined();
      clock += 6_000;
      expect(f.busy).toBe(true);
      expect(f.lastError).toMatchObject({ code: 'E_FETCH_STALLED', message: expect.stringContaining('no answer for 6 s') });
    } finally {
      const { stopChildren } = await import('../../../controller/lib/exec.js');
      stopChildren();
      await f.settle(10_000);
      await stalled.close();
    }
  });

  it('backs off while a large fleet is quiet (doubling, jittered, capped) and polls at the interval again on news', async () => {
    const remote = makeLedgerRemote();
    let clock = Date.now();
    let news = 0;
    const f = new LedgerFetch({
      remote: remote.bare, dir: join(tmpDir('f2g-fetch'), 'ledger'), branch: 'main', run: execRunner, intervalMs: 30_000,
      onNews: () => news++, fleetSize: () => 1000, now: () => clock, random: () => 0.5,
    });
    f.kick();
    await f.settle(30_000); // the first fetch (clone): news, the gap stays the interval
    expect(news).toBe(1);
    expect(f.pollGapMs).toBe(30_000);
    clock += 30_000;
    f.kick();
    await f.settle(30_000); // quiet: ls-remote only
    expect(news).toBe(1);
    expect(f.pollGapMs).toBe(60_000);
    clock += 30_000;
    f.kick(); // a tick one interval later: not due (60 s gap, less half an interval)
    expect(f.busy).toBe(false);
    clock += 15_000;
    f.kick();
    expect(f.busy).toBe(true);
    await f.settle(30_000);
    expect(f.pollGapMs).toBe(120_000);
    remote.commit({ 'bans/notes.txt': 'news\n' }, 'news');
    clock += 105_000;
    f.kick();
    await f.settle(30_000);
    expect(news).toBe(2);
    expect(f.pollGapMs).toBe(30_000);
  });

  it('while the wake-up is healthy, news from the remote does not end the back-off; while it is down the remote is polled at the plain interval', async () => {
    const remote = makeLedgerRemote();
    let clock = Date.now();
    let healthy = false;
    const f = new LedgerFetch({
      remote: remote.bare, dir: join(tmpDir('f2g-fetch'), 'ledger'), branch: 'main', run: execRunner, intervalMs: 30_000,
      onNews: () => undefined, fleetSize: () => 1000, now: () => clock, random: () => 0.5, wakeHealthy: () => healthy,
    });
    f.kick();
    await f.settle(30_000); // the clone, before the wake path is up: the interval
    expect(f.pollGapMs).toBe(30_000);
    healthy = true;
    remote.commit({ 'bans/notes.txt': 'news\n' }, 'news the mirror also brings');
    clock += 30_000;
    f.kick();
    await f.settle(30_000);
    expect(f.pollGapMs).toBe(60_000); // news, yet backing off: the mirror carries the news
    clock += 35_000; // a tick the mirror's news brought, past what an interval tick would need (gap − interval/2)
    f.kick();
    expect(f.busy).toBe(false); // the whole gap (less the ticks' jitter) must pass while the wake path is up
    healthy = false;
    // backed off, this poll would wait another 25 s; the wake path going down ends that
    f.wakeDown();
    expect(f.pollGapMs).toBe(30_000);
    expect(f.busy).toBe(true); // an interval had passed: it polls at once
    await f.settle(30_000);
    expect(f.pollGapMs).toBe(30_000); // quiet, yet no back-off while the wake path is down
    clock += 30_000;
    f.kick();
    await f.settle(30_000);
    expect(f.pollGapMs).toBe(30_000);
  });

  it('idle polling stretches only in a large fleet, to fleetSize / 3 per second, at most 10 minutes', () => {
    expect(idlePollCapMs(30_000, 0)).toBe(30_000);
    expect(idlePollCapMs(30_000, 90)).toBe(30_000);
    expect(idlePollCapMs(30_000, 100)).toBe(33_333);
    expect(idlePollCapMs(30_000, 1000)).toBe(333_333);
    expect(idlePollCapMs(30_000, 100_000)).toBe(600_000);
    expect(nextPollGapMs(30_000, 30_000, 30_000, false, 0.9)).toBe(30_000); // small fleet: never backs off
    expect(nextPollGapMs(160_000, 30_000, 200_000, false, 0)).toBe(180_000); // capped, then -10 % jitter
    expect(nextPollGapMs(160_000, 30_000, 200_000, false, 1)).toBe(220_000);
    expect(nextPollGapMs(200_000, 30_000, 200_000, true, 0.3)).toBe(30_000); // news
  });
});
