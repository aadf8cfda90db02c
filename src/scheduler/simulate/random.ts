/** A small seeded PRNG (mulberry32): the simulator's only source of randomness, so a seed fixes every decision. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exponentially distributed service time with the given mean, at least 1 ms. */
export function exponentialMs(random: () => number, meanMs: number): number {
  return Math.max(1, Math.round(-meanMs * Math.log(1 - random())));
}
