import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../../controller/loop/background.js';

describe('SingleFlight', () => {
  it('runs one job at a time, never waits for it, and reports failures instead of throwing', async () => {
    const errors: unknown[] = [];
    const f = new SingleFlight((e) => errors.push(e));
    let release!: () => void;
    const started = Date.now();
    expect(f.start(() => new Promise<void>((r) => (release = r)))).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(f.busy).toBe(true);
    expect(f.start(async () => undefined)).toBe(false);
    expect(await f.settle(20)).toBe(false);
    release();
    expect(await f.settle(1_000)).toBe(true);
    expect(f.start(async () => { throw new Error('boom'); })).toBe(true);
    expect(await f.settle(1_000)).toBe(true);
    expect(errors).toEqual([new Error('boom')]);
  });
});
