// After the loop: the finalists on the sealed test split (once per run), and transfer of chosen
// algorithms to another candidate set without re-tuning.
import { candidateId, candidateIndex, FINAL_CONTROL_FILE, FINAL_REFERENCES_FILE, FINAL_RESULTS_FILE, SEALED_FILE } from '../run/layout';
import type { ScoredRecord } from '../run/records';
import { baselineVariants } from './baselines';
import { fmt, type RunContext } from './context';
import type { Scorer } from './scorer';
import { bestOf } from './summary';

/** The top `k` distinct records by dev (ties: earlier iteration, then lower id), vetoed left out. */
function topByDev(records: ScoredRecord[], k: number, vetoed: (r: ScoredRecord) => boolean): ScoredRecord[] {
  const seen = new Set<string>();
  return records
    .filter((r) => r.status === 'ok' && !r.reusedFrom && !vetoed(r))
    .sort((a, b) => b.score! - a.score! || a.iteration - b.iteration || a.id.localeCompare(b.id))
    .filter((r) => !seen.has(r.codeHash!) && seen.add(r.codeHash!))
    .slice(0, k);
}

/**
 * Scores on the sealed test split, once per run: the factory's top-K distinct algorithms by dev,
 * the random-program control's top-K by dev (the same rule, so factory and control compare on
 * equal terms), and the references: the seed, the best tuned baseline by dev and every candidate
 * model as it is.
 */
export async function finalizeRun(ctx: RunContext, scorer: Scorer, algorithmsDir: string): Promise<void> {
  const id = ctx.header.id;
  if ((await ctx.files.finalResults()).length && (await ctx.files.finalized())) {
    throw new Error(`run ${id} was already finalized: the test split is scored only once (see ${FINAL_RESULTS_FILE})`);
  }
  const vetoes = await ctx.files.vetoes();
  const all: ScoredRecord[] = [];
  for (const t of await ctx.files.iterations()) all.push(...(await ctx.files.results(t)));
  const finalists = topByDev(all, ctx.config.finalists, (r) => vetoes.hasAlgorithm(r.iteration, r.id));
  if (!finalists.length) throw new Error(`run ${id} has no successfully scored algorithm to finalize`);
  ctx.emit({ type: 'phase', iteration: 0, phase: 'finalize', total: finalists.length });
  const base = scorer.params(ctx.config.candidates, 'test');
  for (const [i, f] of finalists.entries()) {
    ctx.checkCancelled();
    const ref = `${f.iteration}/${f.id}`;
    if ((await ctx.files.finalResults()).some((r) => r.id === ref)) continue;
    const result = await scorer.score(`${id}/test/${f.codeHash}`, { source: (await ctx.files.read(f.file!))! }, base);
    const record = scorer.toRecord(ref, f.iteration, result, f.codeHash!, f.file, { kind: 'generated', summary: `dev ${fmt(f.score)}` });
    await ctx.run.appendLine(FINAL_RESULTS_FILE, JSON.stringify(record));
    ctx.emit({ type: 'scored', iteration: 0, record, done: i + 1, total: finalists.length });
  }
  // The control's finalists by the same rule.
  const baselines = await ctx.files.baselines();
  const control = topByDev(baselines.filter((r) => r.kind === 'control'), ctx.config.finalists, () => false);
  for (const c of control) {
    ctx.checkCancelled();
    if ((await ctx.files.finalControl()).some((r) => r.id === c.id)) continue;
    const result = await scorer.score(`${id}/test/${c.codeHash}`, { source: (await ctx.files.read(c.file!))! }, base);
    await ctx.run.appendLine(FINAL_CONTROL_FILE, JSON.stringify(scorer.toRecord(c.id, c.iteration, result, c.codeHash!, c.file, { kind: 'control', summary: `dev ${fmt(c.score)}`, temperature: c.temperature })));
  }
  // Reference points on the same sealed split: the seed, the best tuned baseline by dev, and
  // every candidate model as it is.
  const references = [
    baselines.find((r) => r.id === 'seed'),
    bestOf(baselines.filter((r) => r.kind === 'baseline')),
    ...ctx.config.candidates.map((_, k) => baselines.find((r) => r.id === candidateId(k + 1))),
  ].filter((r): r is ScoredRecord => Boolean(r));
  const variants = await baselineVariants(algorithmsDir);
  for (const ref of references) {
    ctx.checkCancelled();
    if ((await ctx.files.finalReferences()).some((r) => r.id === ref.id)) continue;
    const variant = variants.find((v) => v.id === ref.id);
    const k = candidateIndex(ref.id);
    const model = k === undefined ? undefined : ctx.config.candidates[k - 1];
    const result = await scorer.score(`${id}/test/${ref.codeHash}`, { source: variant?.source, constants: variant?.constants, model }, base);
    await ctx.run.appendLine(FINAL_REFERENCES_FILE, JSON.stringify(scorer.toRecord(ref.id, 0, result, ref.codeHash ?? 'seed', ref.file, { kind: ref.kind, summary: `dev ${fmt(ref.score)}` })));
  }
  const testEvaluations = finalists.length + control.length + references.length;
  await ctx.run.write(
    SEALED_FILE,
    JSON.stringify({ finalizedAt: new Date().toISOString(), testEvaluations, finalists: finalists.length, control: control.length, references: references.map((r) => r.id) }, null, 1) + '\n',
  );
}
