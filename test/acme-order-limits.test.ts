/**
 * The limits on ordering, with a clock the test moves: a failed name backs off 1 minute,
 * then 2, 4, ... up to a day, and a success clears it; at most `inFlight` orders run at
 * once and the rest wait their turn in order; at most `perHour` orders start per hour.
 */
import { describe, it, expect } from 'vitest';
import { OrderLimits, BACKOFF_FIRST_MS, BACKOFF_MAX_MS } from '../src/acme/limits.js';

describe('OrderLimits', () => {
  it('backs a name off 1 min, doubling to a day; a success clears it', () => {
    let now = 1_000_000;
    const l = new OrderLimits({ inFlight: 2, perHour: 10 }, () => now);
    expect(l.backoffUntil('a')).toBe(0);
    const waits = Array.from({ length: 13 }, () => l.failed('a'));
    expect(waits.slice(0, 4)).toEqual([BACKOFF_FIRST_MS, 2 * BACKOFF_FIRST_MS, 4 * BACKOFF_FIRST_MS, 8 * BACKOFF_FIRST_MS]);
    expect(waits[12]).toBe(BACKOFF_MAX_MS);
    expect(BACKOFF_MAX_MS).toBe(86_400_000);
    expect(l.backoffUntil('a')).toBe(now + BACKOFF_MAX_MS);
    expect(l.backoffUntil('b')).toBe(0);
    now += BACKOFF_MAX_MS + 1;
    expect(l.backoffUntil('a')).toBe(0);
    l.succeeded('a');
    expect(l.failed('a')).toBe(BACKOFF_FIRST_MS);
  });

  it('starts at most perHour orders per hour', () => {
    let now = 0;
    const l = new OrderLimits({ inFlight: 2, perHour: 3 }, () => now);
    expect([l.takeRate(), l.takeRate(), l.takeRate(), l.takeRate()]).toEqual([true, true, true, false]);
    now += 3_600_001;
    expect(l.takeRate()).toBe(true);
  });

  it('runs at most inFlight orders at once; the others wait their turn in order', async () => {
    const l = new OrderLimits({ inFlight: 2, perHour: 100 });
    const order: string[] = [];
    const r1 = await l.slot();
    const r2 = await l.slot();
    const third = l.slot().then((r) => { order.push('third'); return r; });
    const fourth = l.slot().then((r) => { order.push('fourth'); return r; });
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    expect(l.inFlight).toBe(2);
    r1();
    r1(); // a second release of the same slot changes nothing
    const r3 = await third;
    expect(order).toEqual(['third']);
    expect(l.inFlight).toBe(2);
    r2();
    const r4 = await fourth;
    expect(order).toEqual(['third', 'fourth']);
    r3();
    r4();
    expect(l.inFlight).toBe(0);
  });
});
