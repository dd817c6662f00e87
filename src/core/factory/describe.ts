// A short markdown account of a factory state, written to iterations/NN/prompt.md: for the
// grammar factory the distribution it samples from is what an LLM factory's prompt would be.
import { CHOICE_POINTS, GRAMMAR_ID } from './grammar';
import { softmax } from './sample';
import type { FactoryState } from './state';

const fmt = (x: number, digits = 3): string => String(Number(x.toFixed(digits)));

export function entropyBits(probs: readonly number[]): number {
  return -probs.reduce((a, p) => (p > 0 ? a + p * Math.log2(p) : a), 0);
}

/** Markdown: lineage, the refinement that made this version, and per decision the top options and entropy. */
export function describeFactory(state: FactoryState, temperature = 1): string {
  const lines = [
    `# Grammar factory, version ${state.version}${state.parentVersion === null ? '' : ` (refined from version ${state.parentVersion})`}`,
    '',
    `Programs of the grammar \`${GRAMMAR_ID}\`: per-task-vector preprocessing (0-2 steps), one combination of the task vectors, ` +
      'postprocessing (0-2 steps) and a global scale; every decision is drawn from softmax(logits / T). See docs/FACTORY.md.',
    '',
  ];
  const r = state.refinement;
  if (r) {
    lines.push(
      `Made by exact DPO from ${r.pairs} preference pairs (beta ${r.options.beta}, learning rate ${r.options.learningRate}, ` +
        `${r.options.steps} steps): loss ${fmt(r.lossBefore)} -> ${fmt(r.lossAfter)}, ` +
        `pair accuracy ${fmt(r.pairAccuracyBefore, 2)} -> ${fmt(r.pairAccuracyAfter, 2)}.`,
      '',
    );
  } else {
    lines.push('The prior of a fresh factory (no refinement yet).', '');
  }
  lines.push(`Probabilities at temperature ${fmt(temperature)}.`, '', '| decision | most likely options | entropy (bits) |', '|---|---|---|');
  for (const point of CHOICE_POINTS) {
    const probs = softmax(state.logits[point.id], temperature);
    const top = probs
      .map((p, i) => ({ p, label: String(point.options[i]) }))
      .sort((a, b) => b.p - a.p)
      .slice(0, 3)
      .map((o) => `${o.label} ${fmt(o.p, 2)}`)
      .join(', ');
    lines.push(`| ${point.question} (\`${point.id}\`) | ${top} | ${fmt(entropyBits(probs), 2)} of ${fmt(Math.log2(probs.length), 2)} |`);
  }
  lines.push('');
  return lines.join('\n');
}
