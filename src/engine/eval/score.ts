// Scoring a benchmark run: per-item records, accuracy and its bootstrap interval.
import { bootstrapInterval, type BootstrapOptions } from '../../stats';
import { checkAnswer, type CheckOptions } from './check';
import type { BenchmarkItem, ItemRecord, ScoreReport } from './types';

export type ScoreOptions = BootstrapOptions & CheckOptions;

/**
 * Checks each completion against its item's gold answer. `prompts[i]` and `completions[i]`
 * belong to `items[i]`; completions should already be cut at the stop sequence (the demo cuts
 * at the first blank line), since a `####` after it would otherwise count.
 */
export function scoreCompletions(
  items: readonly BenchmarkItem[],
  prompts: readonly string[],
  completions: readonly string[],
  opts: ScoreOptions = {},
): ScoreReport {
  if (prompts.length !== items.length || completions.length !== items.length) {
    throw new RangeError(
      `${items.length} items need as many prompts and completions; got ${prompts.length} prompts and ${completions.length} completions`,
    );
  }
  if (items.length === 0) throw new RangeError('no items to score');
  const records: ItemRecord[] = items.map((item, i) => {
    const { extracted, correct } = checkAnswer(item.kind, completions[i], item.gold, opts);
    return { id: item.id, prompt: prompts[i], completion: completions[i], extracted, gold: item.gold, correct };
  });
  const correct = records.filter((r) => r.correct).length;
  return {
    n: records.length,
    correct,
    accuracy: correct / records.length,
    interval: bootstrapInterval(
      records.map((r) => r.correct),
      opts,
    ),
    records,
  };
}
