/** Exponentially distributed service time with the given mean, at least 1 ms. */
export function exponentialMs(random: () => number, meanMs: number): number {
  return Math.max(1, Math.round(-meanMs * Math.log(1 - random())));
}
