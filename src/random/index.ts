/**
 * Seeded pseudo-random numbers, shared by every part that needs reproducible randomness
 * (log generation, the scheduler simulator, benchmarks). Pure: no I/O and no other part,
 * so any core part may import it without pulling in anything else.
 */

/**
 * mulberry32: a small, fast, well-distributed 32-bit PRNG returning numbers in [0, 1).
 * The same seed gives the same sequence on every platform, so a seed fixes a generated
 * log or a simulation run byte for byte.
 */
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
