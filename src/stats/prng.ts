// The project's one seeded generator (mulberry32), so that bootstrap intervals, benchmark
// subsets and the factory's samples are the same on every run and machine; Math.random cannot
// be seeded.

/** Returns a function giving uniform numbers in [0, 1) determined by `seed` (only its low 32 bits count). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
