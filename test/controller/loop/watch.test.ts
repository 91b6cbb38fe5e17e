import { describe, it, expect } from 'vitest';
import { EXPIRY_EPSILON_MS, MIN_SLEEP_MS, Waker, nextWakeMs, sleep, watchLoop } from '../../../controller/loop/watch.js';

const T0 = new Date('2026-11-25T10:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

describe('nextWakeMs', () => {
  it('the interval, jittered within ±10 %', () => {
    expect(nextWakeMs(T0, 30_000, undefined, 0)).toBe(27_000);
    expect(nextWakeMs(T0, 30_000, undefined, 0.5)).toBe(30_000);
    expect(nextWakeMs(T0, 30_000, undefined, 0.999999)).toBe(33_000);
  });
  it('wakes just after the next expiry when it comes first', () => {
    expect(nextWakeMs(T0, 30_000, at(3_000), 0.5)).toBe(3_000 + EXPIRY_EPSILON_MS);
  });
  it('an expiry after the interval does not delay the interval', () => {
    expect(nextWakeMs(T0, 30_000, at(60_000), 0.5)).toBe(30_000);
  });
  it('an expiry already past wakes almost at once, but never spins', () => {
    expect(nextWakeMs(T0, 30_000, at(-5_000), 0.5)).toBe(MIN_SLEEP_MS);
  });
  it('hosts pick different sleeps (no lockstep)', () => {
    const sleeps = new Set([0.1, 0.3, 0.6, 0.9].map((r) => nextWakeMs(T0, 30_000, undefined, r)));
    expect(sleeps.size).toBe(4);
  });
});

describe('watchLoop', () => {
  it('runs ticks until aborted, then stops without another tick', async () => {
    const ac = new AbortController();
    let ticks = 0;
    await watchLoop({
      intervalMs: 20, signal: ac.signal, random: () => 0.5,
      tick: async () => {
        ticks++;
        if (ticks === 3) ac.abort();
        return {};
      },
    });
    expect(ticks).toBe(3);
  });
  it('a tick that throws does not end the loop', async () => {
    const ac = new AbortController();
    let ticks = 0;
    await watchLoop({
      intervalMs: 10, signal: ac.signal,
      tick: async () => {
        ticks++;
        if (ticks === 2) ac.abort();
        if (ticks === 1) throw new Error('boom');
        return {};
      },
    });
    expect(ticks).toBe(2);
  });
  it('sleeps until the next expiry when it is sooner than the interval', async () => {
    const ac = new AbortController();
    const sleeps: number[] = [];
    await watchLoop({
      intervalMs: 60_000, signal: ac.signal, now: () => T0, random: () => 0.5,
      onSleep: (ms) => { sleeps.push(ms); ac.abort(); },
      tick: async () => ({ nextExpiry: at(1_000) }),
    });
    expect(sleeps).toEqual([1_000 + EXPIRY_EPSILON_MS]);
  });
  it('an abort cuts a long sleep short', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 30);
    await sleep(60_000, ac.signal);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('Waker', () => {
  it('ends a sleep early, and a wake during a tick makes the next sleep return at once', async () => {
    const waker = new Waker();
    const ac = new AbortController();
    let started = Date.now();
    setTimeout(() => waker.wake(), 20);
    await waker.sleep(60_000, ac.signal);
    expect(Date.now() - started).toBeLessThan(5_000);
    waker.wake();
    started = Date.now();
    await waker.sleep(60_000, ac.signal);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('wakes the loop for another tick before its interval', async () => {
    const ac = new AbortController();
    const waker = new Waker();
    let ticks = 0;
    const started = Date.now();
    await watchLoop({
      intervalMs: 60_000, signal: ac.signal, waker,
      tick: async () => {
        ticks++;
        if (ticks === 1) setTimeout(() => waker.wake(), 10);
        else ac.abort();
        return {};
      },
    });
    expect(ticks).toBe(2);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
