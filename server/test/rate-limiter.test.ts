import { describe, expect, it } from 'vitest';

import { RateLimiter } from '../src/rate-limiter.js';

/** Creates a clock in milliseconds that moves only when the test advances or sets it. */
function fakeClock(start = 0) {
  let time = start;
  return {
    now: () => time,
    advance(milliseconds: number) {
      time += milliseconds;
    },
    set(milliseconds: number) {
      time = milliseconds;
    },
  };
}

function takeMany(limiter: RateLimiter, count: number): boolean[] {
  return Array.from({ length: count }, () => limiter.tryTake());
}

describe('RateLimiter', () => {
  it('accepts a full burst at once', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ messagesPerSecond: 10, burst: 3, now: clock.now });

    expect(takeMany(limiter, 3)).toEqual([true, true, true]);
    expect(limiter.rejected).toBe(0);
  });

  it('rejects after the burst', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ messagesPerSecond: 10, burst: 3, now: clock.now });
    takeMany(limiter, 3);

    expect(limiter.tryTake()).toBe(false);
    expect(limiter.tryTake()).toBe(false);
    expect(limiter.rejected).toBe(2);
  });

  it('refills at the configured rate', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ messagesPerSecond: 10, burst: 3, now: clock.now });
    takeMany(limiter, 3);

    // At 10 messages per second one token takes 100 ms.
    clock.advance(99);
    expect(limiter.tryTake()).toBe(false);
    clock.advance(1);
    expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(false);

    // 250 ms give 2.5 tokens: two messages pass, and the half token waits for 50 ms more.
    clock.advance(250);
    expect(takeMany(limiter, 3)).toEqual([true, true, false]);
    clock.advance(50);
    expect(limiter.tryTake()).toBe(true);

    expect(limiter.rejected).toBe(3);
  });

  it('refills no further than the burst', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ messagesPerSecond: 10, burst: 3, now: clock.now });
    takeMany(limiter, 3);

    clock.advance(60_000);
    expect(takeMany(limiter, 4)).toEqual([true, true, true, false]);
  });

  it('supports rates below one per second', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ messagesPerSecond: 0.5, burst: 1, now: clock.now });
    expect(limiter.tryTake()).toBe(true);

    clock.advance(1_999);
    expect(limiter.tryTake()).toBe(false);
    clock.advance(1);
    expect(limiter.tryTake()).toBe(true);
  });

  it('adds no tokens when the clock steps back', () => {
    const clock = fakeClock(10_000);
    const limiter = new RateLimiter({ messagesPerSecond: 10, burst: 2, now: clock.now });
    takeMany(limiter, 2);

    clock.set(5_000);
    expect(limiter.tryTake()).toBe(false);

    // Refilling restarts from the new, earlier reading.
    clock.advance(100);
    expect(limiter.tryTake()).toBe(true);
  });

  it('starts full with the default clock', () => {
    // One token per 1000 s, so no token can arrive while the test runs.
    const limiter = new RateLimiter({ messagesPerSecond: 0.001, burst: 2 });

    expect(takeMany(limiter, 3)).toEqual([true, true, false]);
    expect(limiter.rejected).toBe(1);
  });

  it.each([
    [0, 'got 0'],
    [-5, 'got -5'],
    [Number.NaN, 'got NaN'],
    [Number.POSITIVE_INFINITY, 'got Infinity'],
  ])('rejects messagesPerSecond %s', (messagesPerSecond, got) => {
    const create = () => new RateLimiter({ messagesPerSecond, burst: 1 });

    expect(create).toThrow(RangeError);
    expect(create).toThrow('messagesPerSecond must be a positive finite number');
    expect(create).toThrow(got);
  });

  it('rejects a messagesPerSecond that is not a number', () => {
    const create = () => new RateLimiter({ messagesPerSecond: '10' as unknown as number, burst: 1 });

    expect(create).toThrow('messagesPerSecond must be a positive finite number, got "10".');
  });

  it.each([
    [0, 'got 0'],
    [-1, 'got -1'],
    [1.5, 'got 1.5'],
    [Number.NaN, 'got NaN'],
    [Number.POSITIVE_INFINITY, 'got Infinity'],
  ])('rejects burst %s', (burst, got) => {
    const create = () => new RateLimiter({ messagesPerSecond: 1, burst });

    expect(create).toThrow(RangeError);
    expect(create).toThrow('burst must be an integer of at least 1');
    expect(create).toThrow(got);
  });

  it('rejects a clock that is not a function', () => {
    const create = () => new RateLimiter({ messagesPerSecond: 1, burst: 1, now: 5 as unknown as () => number });

    expect(create).toThrow(TypeError);
    expect(create).toThrow('now must be a function that returns milliseconds, got number.');
  });

  it('rejects a clock reading that is not finite', () => {
    let reading = 0;
    const limiter = new RateLimiter({ messagesPerSecond: 1, burst: 1, now: () => reading });
    reading = Number.NaN;

    expect(() => limiter.tryTake()).toThrow('The rate limiter clock returned NaN; expected a finite number of milliseconds.');
  });
});
