// Choosing the next token: greedy (argmax, ties to the lowest id, as torch.argmax) or sampled
// from softmax(logits / temperature) restricted to the top-p nucleus (the order of transformers'
// warpers: temperature, then top-p). Each sequence has its own seeded generator, so a sample
// depends on (seed, sequence index) only, never on batching or on the other sequences.
import { seededRandom } from '../../stats';

export interface Sampling {
  /** 0 means greedy. */
  temperature: number;
  /** Nucleus: the smallest set of most likely tokens whose probability reaches topP (default 1). */
  topP?: number;
  seed: number;
}

export function argmax(logits: Float32Array, row: number, vocab: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let v = 0, o = row * vocab; v < vocab; v++) {
    if (logits[o + v] > bestValue) {
      bestValue = logits[o + v];
      best = v;
    }
  }
  return best;
}

/** A 32-bit seed for sequence `index` of a call with `seed` (murmur3's finaliser over both). */
export function sequenceSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ (index >>> 0)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function checkSampling(s: Sampling): void {
  if (!Number.isFinite(s.temperature) || s.temperature < 0) throw new Error(`temperature must be a number >= 0, got ${s.temperature}`);
  const p = s.topP ?? 1;
  if (!(p > 0 && p <= 1)) throw new Error(`top_p must be in (0, 1], got ${s.topP}`);
  if (!Number.isInteger(s.seed)) throw new Error(`the sampling seed must be a whole number, got ${s.seed}`);
}

/**
 * The token drawn from one row of logits with the uniform number u in [0, 1): the cumulative
 * distribution over the kept tokens, walked in token-id order.
 */
export function sampleToken(logits: Float32Array, row: number, vocab: number, temperature: number, topP: number, u: number): number {
  const o = row * vocab;
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) if (logits[o + v] > max) max = logits[o + v];
  const p = new Float64Array(vocab);
  let total = 0;
  for (let v = 0; v < vocab; v++) total += p[v] = Math.exp((logits[o + v] - max) / temperature);
  if (topP < 1) {
    // Most likely first, ties to the lower id; keep tokens until their mass reaches topP (the
    // token that crosses the line is kept, as transformers keeps it). A native numeric sort of
    // the values finds the smallest kept probability; no comparator sort over token ids.
    const sorted = p.slice().sort();
    const need = topP * total;
    let mass = 0;
    let j = vocab - 1;
    for (; j > 0; j--) {
      mass += sorted[j];
      if (mass >= need) break;
    }
    const cutoff = sorted[j];
    // Entries equal to the cutoff that the walk took: the lowest ids among them are kept.
    let atCutoff = 0;
    for (let k = j; k < vocab && sorted[k] === cutoff; k++) atCutoff++;
    total = 0;
    for (let v = 0; v < vocab; v++) {
      if (p[v] > cutoff || (p[v] === cutoff && atCutoff-- > 0)) total += p[v];
      else p[v] = 0;
    }
  }
  const target = u * total;
  let acc = 0;
  let last = 0;
  for (let v = 0; v < vocab; v++) {
    if (p[v] === 0) continue;
    acc += p[v];
    last = v;
    if (target < acc) return v;
  }
  return last; // rounding at the very top of the range
}

/** The picker of sequence `index`: argmax for greedy, else a sampler with its own generator. */
export function tokenSampler(s: Sampling | undefined, index: number, vocab: number): (logits: Float32Array, row: number) => number {
  if (!s || s.temperature === 0) return (logits, row) => argmax(logits, row, vocab);
  checkSampling(s);
  const random = seededRandom(sequenceSeed(s.seed, index));
  const topP = s.topP ?? 1;
  return (logits, row) => sampleToken(logits, row, vocab, s.temperature, topP, random());
}
