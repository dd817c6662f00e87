// The dev score of an algorithm (mean accuracy over benchmarks) and its interval: a stratified
// percentile bootstrap that resamples items within each benchmark.
import { seededRandom } from '../../engine/eval';

export function meanScore(accuracies: number[]): number {
  return accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
}

export function stratifiedInterval(items: boolean[][], resamples = 1000, seed = 0, level = 0.95): [number, number] {
  const random = seededRandom(seed);
  const stats: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let total = 0;
    for (const bench of items) {
      let correct = 0;
      for (let i = 0; i < bench.length; i++) if (bench[Math.floor(random() * bench.length)]) correct++;
      total += bench.length ? correct / bench.length : 0;
    }
    stats.push(total / items.length);
  }
  stats.sort((a, b) => a - b);
  const lo = stats[Math.floor(((1 - level) / 2) * (resamples - 1))];
  const hi = stats[Math.ceil((1 - (1 - level) / 2) * (resamples - 1))];
  return [lo, hi];
}
