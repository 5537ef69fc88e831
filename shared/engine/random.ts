/**
 * A seeded pseudo-random source, so the `random` handoff policy stays reproducible and the engine
 * stays pure. mulberry32: small, fast, and good enough to pick a waiter; not for cryptography.
 */
export interface RandomSource {
  /** A float in [0, 1). */
  next(): number;
}

export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
