/** How the final answer of a benchmark is written and checked. */
export type AnswerKind = 'gsm8k' | 'boxed';

/**
 * Where a GSM8k answer may be found in a completion.
 * - `strict`: only the number after the last `####` (the demo's evaluate.py, and the usual
 *   "strict match" for 5-shot GSM8k);
 * - `flexible`: that, else the number after the last "The answer is", else the last number.
 * MATH answers are the last `\boxed{}` in both.
 */
export type AnswerExtraction = 'strict' | 'flexible';

/** strict, so that the engine's accuracies are the demo's measured ones (see evaluate.py). */
export const DEFAULT_EXTRACTION: AnswerExtraction = 'strict';

/** One benchmark problem. */
export interface BenchmarkItem {
  /** Stable: `<file name>:<line>` for JSONL (1-based), `<file name>:<row>` for parquet (0-based). */
  id: string;
  /** GSM8k `question` or MATH `problem`. */
  question: string;
  /** GSM8k `answer` or MATH `solution`: the worked solution that exemplars show. */
  solution: string;
  /** The reference final answer taken from the solution: a canonical number (gsm8k) or the content of its last `\boxed{}`. */
  gold: string;
  kind: AnswerKind;
  level?: string;
  type?: string;
}

/** A percentile bootstrap interval of an accuracy. */
export type { Interval } from '../../stats';
import type { Interval } from '../../stats';

/** The outcome of one benchmark item. */
export interface ItemRecord {
  id: string;
  prompt: string;
  completion: string;
  /** The answer found in the completion (gsm8k: canonical number; boxed: the box's content), if any. */
  extracted: string | undefined;
  gold: string;
  correct: boolean;
}

export interface ScoreReport {
  n: number;
  correct: number;
  accuracy: number;
  interval: Interval;
  records: ItemRecord[];
}
