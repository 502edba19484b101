// A token bucket that limits the messages of one connection.

export interface RateLimiterOptions {
  /** Tokens added per second, which is the sustained message rate. A positive finite number. */
  messagesPerSecond: number;
  /** Bucket capacity in tokens, which is the maximum number of messages accepted back to back. An integer of at least 1. */
  burst: number;
  /** Clock in milliseconds. Default: `performance.now`, which never steps back. */
  now?: () => number;
}

/**
 * Token bucket for one connection. The bucket starts full with `burst` tokens, gains
 * `messagesPerSecond` tokens per second up to `burst`, and each accepted message takes one token.
 * It reads the time only through `now`, so a fake clock makes it deterministic.
 */
export class RateLimiter {
  private readonly messagesPerSecond: number;
  private readonly burst: number;
  private readonly now: () => number;
  private tokens: number;
  /** Clock reading in milliseconds at the last refill. */
  private refilledAt: number;
  private rejectedCount = 0;

  constructor({ messagesPerSecond, burst, now = () => performance.now() }: RateLimiterOptions) {
    if (!Number.isFinite(messagesPerSecond) || messagesPerSecond <= 0) {
      throw new RangeError(`messagesPerSecond must be a positive finite number, got ${describe(messagesPerSecond)}.`);
    }
    if (!Number.isInteger(burst) || burst < 1) {
      throw new RangeError(`burst must be an integer of at least 1, got ${describe(burst)}.`);
    }
    if (typeof now !== 'function') {
      throw new TypeError(`now must be a function that returns milliseconds, got ${typeof now}.`);
    }

    this.messagesPerSecond = messagesPerSecond;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.refilledAt = this.readClock();
  }

  /** Messages rejected so far, that is the calls of `tryTake()` that returned false. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Takes one token and returns true, or returns false and counts a rejection when the bucket is empty. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.rejectedCount += 1;
    return false;
  }

  private refill(): void {
    const now = this.readClock();
    // A clock that steps back adds no tokens, and the bucket refills again from the new reading.
    const elapsedMs = Math.max(0, now - this.refilledAt);
    // Multiplying before dividing keeps whole-millisecond refills exact, e.g. 100 ms at 10/s is 1 token.
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.messagesPerSecond) / 1000);
    this.refilledAt = now;
  }

  private readClock(): number {
    const now = this.now();
    if (!Number.isFinite(now)) {
      throw new RangeError(`The rate limiter clock returned ${now}; expected a finite number of milliseconds.`);
    }
    return now;
  }
}

/** Formats a rejected option value, quoting strings so that "10" and 10 read differently. */
function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
