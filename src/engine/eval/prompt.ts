// k-shot prompts: exemplars filled into one template, then the item into another.
import type { BenchmarkItem } from './types';

/** The run config's eval prompt settings (demo: shots 0, "Question: {question}\nAnswer:"). */
export interface PromptFormat {
  /** Template of the item; `{question}` is replaced by the item's question or problem. */
  prompt: string;
  /** Template of one exemplar; `{question}` and `{solution}` are replaced. */
  exemplar: string;
  shots: number;
}

// One pass with a function replacement: text inserted for one placeholder is never scanned
// again, and "$&" or "$1" in a problem stays literal (a string replacement would expand them).
function fill(template: string, question: string, solution?: string): string {
  return template.replace(/\{(question|solution)\}/g, (whole, name: string) =>
    name === 'question' ? question : (solution ?? whole),
  );
}

/**
 * The prompt of `item`: the first `format.shots` exemplars, in order, then the item. Only
 * `{question}` and `{solution}` are placeholders; other braces (LaTeX) are kept as written.
 */
export function buildPrompt(item: BenchmarkItem, exemplars: readonly BenchmarkItem[], format: PromptFormat): string {
  const { shots } = format;
  if (!Number.isInteger(shots) || shots < 0) throw new RangeError(`shots must be a whole number >= 0, not ${shots}`);
  if (shots > exemplars.length) {
    throw new RangeError(`a ${shots}-shot prompt needs ${shots} exemplars, but the few-shot set has ${exemplars.length}`);
  }
  const head = exemplars.slice(0, shots).map((e) => fill(format.exemplar, e.question, e.solution));
  return head.join('') + fill(format.prompt, item.question);
}
