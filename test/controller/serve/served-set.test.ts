/** What serve serves: the last good commit's desired-set cache, never the tip. */
import { afterAll, describe, expect, it } from 'vitest';
import { ServedSetReader, SETTLE_MS } from '../../../controller/serve/served-set.js';
import { writeLastGood } from '../../../controller/reconcile/last-good.js';
import { buildCache, writeDesiredCache } from '../../../controller/desired/cache.js';
import type { Ledger } from '../../../controller/ledger/types.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

const policy = { defaultTtl: '1h', broadestPrefix: { ipv4: 8, ipv6: 32 }, banPrefix: { ipv4: 32, ipv6: 128 }, maxRemovePerRun: '50%' } as never;
const T0 = new Date('2026-12-01T12:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

function cache(dir: string, rev: string, cidrs: string[], computedAt: Date, expires?: string): void {
  writeDesiredCache(dir, buildCache(rev, { policy, targets: [], allow: [] }, '', computedAt, cidrs.map((cidr) => ({ cidr, family: 4 as const, ...(expires && { expires }) })), {}));
}

describe('the served set', () => {
  it('is empty before the reconciler accepted a commit, then the cached set of the last good commit, expiring with the clock', async () => {
    const dir = tmpDir('f2g-served');
    const reader = new ServedSetReader(dir, async () => undefined);
    expect(await reader.at(T0)).toEqual({ entries: [] });
    writeLastGood(dir, 'a'.repeat(40), T0);
    cache(dir, 'a'.repeat(40), ['192.0.2.1'], T0, at(60_000).toISOString());
    expect((await reader.at(at(1000))).entries.map((e) => e.cidr)).toEqual(['192.0.2.1']);
    expect((await reader.at(at(61_000))).entries).toEqual([]);
  });

  it('keeps serving the set enforced before while a newly accepted commit\'s cache is not written yet, then computes it itself', async () => {
    const dir = tmpDir('f2g-served');
    const loaded: string[] = [];
    const ledger = { bans: [{ cidr: '198.51.100.9' }], allow: [], policy, targets: [], source: { dir, rev: 'b'.repeat(40) } } as unknown as Ledger;
    const reader = new ServedSetReader(dir, async (rev) => (loaded.push(rev), ledger));
    writeLastGood(dir, 'a'.repeat(40), T0);
    cache(dir, 'a'.repeat(40), ['192.0.2.1'], T0);
    expect((await reader.at(at(1000))).entries.map((e) => e.cidr)).toEqual(['192.0.2.1']);
    writeLastGood(dir, 'b'.repeat(40), new Date()); // accepted now; its cache comes later in the run
    expect((await reader.at(new Date())).entries.map((e) => e.cidr)).toEqual(['192.0.2.1']);
    expect(loaded).toEqual([]);
    expect((await reader.at(new Date(Date.now() + SETTLE_MS + 1000))).entries.map((e) => e.cidr)).toEqual(['198.51.100.9']);
    expect(loaded).toEqual(['b'.repeat(40)]);
  });
});
