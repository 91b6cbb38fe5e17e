import { afterAll, describe, expect, it } from 'vitest';
import { LedgerFetch } from '../../../controller/loop/ledger-fetch.js';
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
});
