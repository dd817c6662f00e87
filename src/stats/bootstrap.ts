// The one bootstrap of the project: percentile intervals of a mean accuracy over one or more
// benchmarks, resampling items within each benchmark (stratified), and of the paired difference
// between two systems scored on the same items. Used by the engine (`selfdev eval`), the loop
// (results.jsonl, summary.json), the CLI and the panel, so one question gets one number.
import { seededRandom } from './prng';

export interface Interval {
  low: number;
  high: number;
  /** Coverage, e.g. 0.95. */
  level: number;
}

export interface BootstrapOptions {
  /** Number of resamples; default 2000. */
  resamples?: number;
  /** Seed of the generator; default 0. The same inputs and seed always give the same interval. */
  seed?: number;
  /** Coverage; default 0.95. */
  level?: number;
}

export const DEFAULT_RESAMPLES = 2000;

/** Per benchmark, whether each item was answered correctly (benchmark order, item order). */
export type ItemOutcomes = readonly (readonly boolean[])[];

function checked(opts: BootstrapOptions): Required<BootstrapOptions> {
  const { resamples = DEFAULT_RESAMPLES, seed = 0, level = 0.95 } = opts;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a whole number >= 1, not ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be between 0 and 1, not ${level}`);
  return { resamples, seed, level };
}

// Linear interpolation between order statistics (numpy's default "linear" quantile).
function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function percentiles(stats: Float64Array, level: number): Interval {
  stats.sort();
  const tail = (1 - level) / 2;
  return { low: quantile(stats, tail), high: quantile(stats, 1 - tail), level };
}

function asBits(benchmarks: ItemOutcomes): Uint8Array[] {
  if (benchmarks.length === 0 || benchmarks.every((b) => b.length === 0)) throw new RangeError('cannot bootstrap an accuracy of no items');
  return benchmarks.map((b) => Uint8Array.from(b, (c) => (c ? 1 : 0)));
}

/** The mean over benchmarks of each benchmark's accuracy (a benchmark with no items counts 0). */
export function meanAccuracy(benchmarks: ItemOutcomes): number {
  return meanScore(benchmarks.map((b) => (b.length ? b.filter(Boolean).length / b.length : 0)));
}

export function meanScore(accuracies: readonly number[]): number {
  return accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
}

/** Percentile bootstrap interval of the mean accuracy over benchmarks, items resampled within
 * each benchmark. With one benchmark this is the plain bootstrap of its accuracy. */
export function stratifiedInterval(benchmarks: ItemOutcomes, opts: BootstrapOptions = {}): Interval {
  const { resamples, seed, level } = checked(opts);
  const bits = asBits(benchmarks);
  const random = seededRandom(seed);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let total = 0;
    for (const b of bits) {
      const n = b.length;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += b[Math.floor(random() * n)];
      total += n ? sum / n : 0;
    }
    stats[r] = total / bits.length;
  }
  return percentiles(stats, level);
}

/** The percentile bootstrap interval of one benchmark's accuracy. */
export function bootstrapInterval(correct: readonly boolean[], opts: BootstrapOptions = {}): Interval {
  return stratifiedInterval([correct], opts);
}

export interface PairedDifference extends Interval {
  /** Mean accuracy of `a` minus that of `b`, on the same items. */
  difference: number;
}

/** How much better `a` is than `b` on the same items: the difference of mean accuracies and its
 * paired, stratified percentile bootstrap interval (each resample draws the same items for
 * both). Benchmarks and items must line up. */
export function pairedDifference(a: ItemOutcomes, b: ItemOutcomes, opts: BootstrapOptions = {}): PairedDifference {
  const { resamples, seed, level } = checked(opts);
  if (a.length !== b.length || a.some((x, k) => x.length !== b[k].length)) {
    throw new RangeError('a paired comparison needs the same benchmarks and items on both sides');
  }
  const ba = asBits(a);
  const bb = asBits(b);
  const random = seededRandom(seed);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let total = 0;
    for (let k = 0; k < ba.length; k++) {
      const n = ba[k].length;
      let diff = 0;
      for (let i = 0; i < n; i++) {
        const j = Math.floor(random() * n);
        diff += ba[k][j] - bb[k][j];
      }
      total += n ? diff / n : 0;
    }
    stats[r] = total / ba.length;
  }
  return { difference: meanAccuracy(a) - meanAccuracy(b), ...percentiles(stats, level) };
}
