// Sampling programs from the factory and scoring traces under it.
import { canonicalKey, summariseProgram } from './canonical';
import { renderProgram } from './codegen';
import { type Trace, replayTrace, walkProgram } from './program';
import { seededRandom } from '../../stats';
import type { FactoryState } from './state';

export interface FactorySample {
  /** The Python module (algorithm contract). */
  code: string;
  trace: Trace;
  /** log pi(trace) under the state at temperature 1 (the policy DPO trains), not the sampling temperature. */
  logProb: number;
  /** Equal for programs that compute the same thing (see canonical.ts). */
  canonical: string;
  /** One line, e.g. "TIES-like: trim to top 30% + sign elect by mass + disjoint mean + scale 1". */
  summary: string;
}

/** softmax(logits / temperature), computed stably. */
export function softmax(logits: readonly number[], temperature = 1): number[] {
  const z = logits.map((l) => l / temperature);
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

export function logSoftmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const lse = max + Math.log(logits.reduce((a, l) => a + Math.exp(l - max), 0));
  return logits.map((l) => l - lse);
}

function tableOf(state: FactoryState, point: string): number[] {
  const row = state.logits[point];
  if (!row) throw new Error(`the factory state has no logits for ${point}`);
  return row;
}

/**
 * n programs sampled at `temperature` (softmax(logits / T) at every decision). The same
 * (state, temperature, seed) gives the same samples, and the first k of n samples are the k
 * samples of a call with n = k. Duplicates are kept; deduplicate by `canonical`.
 */
export function sampleAlgorithms(state: FactoryState, n: number, temperature: number, seed: number): FactorySample[] {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new Error(`temperature must be a positive number, got ${temperature}`);
  if (!Number.isInteger(n) || n < 0) throw new Error(`n must be a whole number >= 0, got ${n}`);
  const random = seededRandom(seed);
  const samples: FactorySample[] = [];
  for (let i = 0; i < n; i++) {
    const trace: number[] = [];
    let logProb = 0;
    const program = walkProgram((point) => {
      const logits = tableOf(state, point);
      const probs = softmax(logits, temperature);
      const u = random();
      let index = probs.length - 1;
      for (let k = 0, acc = 0; k < probs.length; k++) {
        acc += probs[k];
        if (u < acc) {
          index = k;
          break;
        }
      }
      trace.push(index);
      logProb += logSoftmax(logits)[index];
      return index;
    });
    samples.push({
      code: renderProgram(program, trace),
      trace,
      logProb,
      canonical: canonicalKey(program),
      summary: summariseProgram(program),
    });
  }
  return samples;
}

/** log pi(trace) under the state at temperature 1; throws on a trace that is not the grammar's. */
export function logProbability(state: FactoryState, trace: Trace): number {
  let total = 0;
  for (const { point, option } of replayTrace(trace).decisions) total += logSoftmax(tableOf(state, point))[option];
  return total;
}
