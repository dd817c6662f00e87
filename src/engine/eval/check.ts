// Deciding whether a completion's final answer is the reference answer.
import { extractBoxed } from './boxed';
import { extractGsmAnswer } from './gsmAnswer';
import { normalizeMathAnswer } from './mathAnswer';
import { canonicalDecimal } from './numbers';
import type { AnswerExtraction, AnswerKind } from './types';

export interface CheckOptions {
  /** Where GSM8k answers are looked for; default `strict`. MATH answers are always the last box. */
  extraction?: AnswerExtraction;
}

/** The answer a completion gives: a canonical number (gsm8k) or the content of its last box (boxed). */
export function extractAnswer(kind: AnswerKind, completion: string, opts: CheckOptions = {}): string | undefined {
  return kind === 'gsm8k' ? extractGsmAnswer(completion, opts) : extractBoxed(completion);
}

/**
 * Extracts the completion's final answer and compares it with `gold` (a BenchmarkItem's
 * gold): as canonical numbers for gsm8k, as normal forms (normalizeMathAnswer) for boxed.
 */
export function checkAnswer(
  kind: AnswerKind,
  completion: string,
  gold: string,
  opts: CheckOptions = {},
): { extracted: string | undefined; correct: boolean } {
  const extracted = extractAnswer(kind, completion, opts);
  if (extracted === undefined) return { extracted, correct: false };
  const correct =
    kind === 'gsm8k'
      ? extracted === (canonicalDecimal(gold) ?? gold.trim())
      : normalizeMathAnswer(extracted) === normalizeMathAnswer(gold);
  return { extracted, correct };
}
