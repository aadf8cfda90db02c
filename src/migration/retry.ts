/**
 * How the application service waits between attempts when an append loses an optimistic-
 * concurrency race. Retrying at once lets the same contenders collide again; exponential
 * backoff spreads them out, and jitter keeps them from waking in lockstep. Pure: the random
 * source and the sleep are passed in.
 */

export interface BackoffPolicy {
  /** Delay ceiling of the first retry, ms; doubles with every further retry. */
  readonly baseMs: number;
  /** The ceiling never grows past this, ms. */
  readonly capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 10, capMs: 500 };

/** Attempts (the first try included) before a command gives up on a contended stream. */
export const DEFAULT_MAX_ATTEMPTS = 8;

/**
 * Delay before retry number `retry` (0 for the first retry): "equal jitter" — half of the
 * exponential ceiling for sure, the other half at random — so the wait still grows with every
 * retry while two contenders that collided draw different delays.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** retry);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Waits `ms` on the event loop's timer (the default sleep; tests pass their own). */
export function sleepFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
