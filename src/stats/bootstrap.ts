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

/** Per benchmark, each item's outcome (benchmark order, item order): whether it was answered
 * correctly, or a share in [0, 1] (the mean over several systems, for comparing top-K groups). */
export type ItemOutcomes = readonly (readonly (boolean | number)[])[];

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

const value = (c: boolean | number) => (typeof c === 'number' ? c : c ? 1 : 0);

function asBits(benchmarks: ItemOutcomes): Float64Array[] {
  if (benchmarks.length === 0 || benchmarks.every((b) => b.length === 0)) throw new RangeError('cannot bootstrap an accuracy of no items');
  return benchmarks.map((b) => Float64Array.from(b, value));
}

/** The mean over benchmarks of each benchmark's accuracy (a benchmark with no items counts 0). */
export function meanAccuracy(benchmarks: ItemOutcomes): number {
  return meanScore(benchmarks.map((b) => (b.length ? b.reduce<number>((sum, c) => sum + value(c), 0) / b.length : 0)));
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
export function bootstrapInterval(correct: readonly (boolean | number)[], opts: BootstrapOptions = {}): Interval {
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

/** Two-sided p-value of "a and b score the same" on paired items, by random sign flips: each
 * resample swaps a and b on each item with probability 1/2 (within each benchmark) and recomputes
 * the mean difference; p = (1 + #{|resampled| >= |observed|}) / (1 + resamples). */
export function signFlipPValue(a: ItemOutcomes, b: ItemOutcomes, opts: Pick<BootstrapOptions, 'resamples' | 'seed'> = {}): number {
  const { resamples, seed } = checked(opts);
  if (a.length !== b.length || a.some((x, k) => x.length !== b[k].length)) {
    throw new RangeError('a paired comparison needs the same benchmarks and items on both sides');
  }
  const ba = asBits(a);
  const bb = asBits(b);
  const diffs = ba.map((x, k) => x.map((v, i) => v - bb[k][i]));
  const meanOf = (sign: (k: number, i: number) => number) =>
    diffs.reduce((total, d, k) => total + (d.length ? d.reduce((s, v, i) => s + sign(k, i) * v, 0) / d.length : 0), 0) / diffs.length;
  const observed = Math.abs(meanOf(() => 1));
  const random = seededRandom(seed);
  let extreme = 0;
  const tolerance = 1e-12; // equal differences computed in another order must count as equal
  for (let r = 0; r < resamples; r++) if (Math.abs(meanOf(() => (random() < 0.5 ? -1 : 1))) >= observed - tolerance) extreme++;
  return (1 + extreme) / (1 + resamples);
}

/** Holm's step-down adjustment of p-values for a family of comparisons (order kept). */
export function holmAdjust(ps: readonly number[]): number[] {
  const order = ps.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(ps.length);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (ps.length - rank) * p));
    out[i] = running;
  });
  return out;
}

export interface GroupDifference extends Interval {
  /** statistic(a) - statistic(b) on the groups as they are. */
  difference: number;
}

/** How much higher group `a`'s values are than group `b`'s (independent groups, such as the
 * scores of two sets of programs): the difference of their means, or of the means of their `top`
 * best values, with a percentile bootstrap interval (each group resampled on its own). */
export function groupDifference(a: readonly number[], b: readonly number[], opts: BootstrapOptions & { top?: number } = {}): GroupDifference {
  const { resamples, seed, level } = checked(opts);
  if (!a.length || !b.length) throw new RangeError('a group comparison needs values on both sides');
  const stat = (xs: ArrayLike<number>): number => {
    const sorted = Float64Array.from(xs).sort().reverse();
    const k = opts.top ? Math.min(opts.top, sorted.length) : sorted.length;
    let sum = 0;
    for (let i = 0; i < k; i++) sum += sorted[i];
    return sum / k;
  };
  const random = seededRandom(seed);
  const draw = (xs: readonly number[]) => Float64Array.from(xs, () => xs[Math.floor(random() * xs.length)]);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) stats[r] = stat(draw(a)) - stat(draw(b));
  return { difference: stat(a) - stat(b), ...percentiles(stats, level) };
}
