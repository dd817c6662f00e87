// Percentile bootstrap interval of an accuracy: resample the items with replacement, take the
// accuracy of each resample, and read the interval off the sorted resampled accuracies.
import { seededRandom } from './prng';
import type { Interval } from './types';

export interface BootstrapOptions {
  /** Number of resamples; default 2000. */
  resamples?: number;
  /** Seed of the generator; default 0. The same inputs and seed always give the same interval. */
  seed?: number;
  /** Coverage; default 0.95. */
  level?: number;
}

export const DEFAULT_RESAMPLES = 2000;

// Linear interpolation between order statistics (numpy's default "linear" quantile).
function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** The percentile bootstrap interval of the mean of `correct`. */
export function bootstrapInterval(correct: readonly boolean[], opts: BootstrapOptions = {}): Interval {
  const { resamples = DEFAULT_RESAMPLES, seed = 0, level = 0.95 } = opts;
  const n = correct.length;
  if (n === 0) throw new RangeError('cannot bootstrap an accuracy of no items');
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a whole number >= 1, not ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be between 0 and 1, not ${level}`);
  const hits = Uint8Array.from(correct, (c) => (c ? 1 : 0));
  const random = seededRandom(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += hits[Math.floor(random() * n)];
    means[b] = sum / n;
  }
  means.sort();
  const tail = (1 - level) / 2;
  return { low: quantile(means, tail), high: quantile(means, 1 - tail), level };
}
