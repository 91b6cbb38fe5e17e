/** The flusher's pause between busy rounds grows through a storm, so a long storm costs few commits. */
import { describe, expect, it } from 'vitest';
import { stormPause } from '../../hooks/flush.js';

describe('stormPause', () => {
  it('grows fourfold from the base with every further busy round, up to the cap', () => {
    expect([0, 1, 2, 3, 9].map((n) => stormPause(n))).toEqual([500, 2000, 8000, 8000, 8000]);
  });

  it('follows the options', () => {
    expect([0, 1, 2, 3].map((n) => stormPause(n, { batchDelayMs: 100, maxBatchDelayMs: 1000 }))).toEqual([100, 400, 1000, 1000]);
  });

  it('with a random source, spreads each pause ±25 % (hosts hit by one storm stop pushing at the same moments)', () => {
    expect([0, 0.5, 1].map((r) => stormPause(4, {}, () => r))).toEqual([6000, 8000, 10000]);
    expect(stormPause(0, {}, () => 0)).toBe(375);
  });

  it('never overflows on a very long storm', () => {
    expect(stormPause(10_000)).toBe(8000);
  });
});
