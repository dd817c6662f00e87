// The factory's own seeded generator (splitmix32), so that sampling is the same on every run
// and machine; Math.random cannot be seeded. src/core may not import src/engine's copy.

/** Uniform numbers in [0, 1) determined by `seed` (any number; only its low 32 bits count). */
export function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}
