// How the CLI and the extension print scores: one formatter, so a figure reads the same in a
// terminal, a notification and the Runs tree (the webview has its own copy: it imports only the
// protocol file).

/** 0.4375 -> "43.8%"; a missing value -> "-". */
export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(digits)}%`;
}

/** [0.3, 0.45] -> "[30.0%, 45.0%]". */
export function pctInterval(low: number, high: number, digits = 1): string {
  return `[${pct(low, digits)}, ${pct(high, digits)}]`;
}

/** One line of DPO progress: "DPO step 3/12 · loss 0.651 · reward accuracy 75.0% · margin 0.120". */
export function describeRefining(p: { phase: string; step: number; steps: number; loss?: number; rewardAccuracy?: number; rewardMargin?: number }): string {
  if (p.phase !== 'train') return { load: 'DPO: loading the generator', evaluate: 'DPO: measuring held-out pairs', save: 'DPO: saving the refined generator' }[p.phase] ?? `DPO: ${p.phase}`;
  const parts = [`DPO step ${p.step}/${p.steps}`];
  if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(3)}`);
  if (p.rewardAccuracy !== undefined) parts.push(`reward accuracy ${pct(p.rewardAccuracy)}`);
  if (p.rewardMargin !== undefined) parts.push(`margin ${p.rewardMargin.toFixed(3)}`);
  return parts.join(' · ');
}
