/** A token bucket on the caller's clock (milliseconds); pure arithmetic, no timers. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly ratePerSecond: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.last = now;
  }

  /**
   * Takes one token if there is one and returns 0; otherwise returns the milliseconds until a
   * token will be available (Infinity at rate 0) and takes nothing.
   */
  take(now: number): number {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    // At rate 0 this divides a positive number by zero: Infinity, as documented.
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }
}
