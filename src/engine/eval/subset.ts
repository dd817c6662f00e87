// Seeded subsets of a benchmark, e.g. the paper's MATH dev set: 100 problems of each type.
import { seededRandom } from '../../stats';
import type { BenchmarkItem } from './types';

export interface SubsetOptions {
  /** Seed of the shuffle; the same items, size and seed always give the same subset. */
  seed: number;
  /** `type`: take (about) the same number from each type, as the paper's MATH dev set does. */
  stratify?: 'type' | 'level';
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * `size` items drawn without replacement, returned in file order. Stratified, each group gives
 * an equal share (groups that run out leave their share to the others). Fewer items than
 * `size` gives them all.
 */
export function sampleSubset(items: readonly BenchmarkItem[], size: number, opts: SubsetOptions): BenchmarkItem[] {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`size must be a whole number >= 0, not ${size}`);
  const random = seededRandom(opts.seed);
  const key = opts.stratify;
  const groups = new Map<string, BenchmarkItem[]>();
  for (const item of items) {
    const g = key ? (item[key] ?? '') : '';
    const group = groups.get(g) ?? [];
    group.push(item);
    groups.set(g, group);
  }
  // Groups in a fixed order (sorted names), each shuffled once; then deal round-robin.
  const queues = [...groups.keys()].sort().map((g) => shuffled(groups.get(g) ?? [], random));
  const longest = Math.max(0, ...queues.map((q) => q.length));
  const chosen = new Set<BenchmarkItem>();
  for (let round = 0; round < longest && chosen.size < size; round++) {
    for (const q of queues) if (round < q.length && chosen.size < size) chosen.add(q[round]);
  }
  return items.filter((item) => chosen.has(item));
}
