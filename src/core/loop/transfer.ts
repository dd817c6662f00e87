// Transfer as the paper tests it: chosen algorithms applied to another set of candidate models,
// against the baseline grid re-tuned on that set's dev split; then the chosen algorithms and the
// best re-tuned baseline on that set's test split, each once. Nothing scored with the run's own
// candidates is reused, and the jobs have ids of their own in the backend's journal.
import { normaliseCode } from '../factory';
import { algorithmFile, parseAlgorithmRef, transferDevFile, transferTestFile } from '../run/layout';
import { codeHash, type ScoredRecord } from '../run/records';
import { baselineVariants } from './baselines';
import { fmt, type RunContext } from './context';
import type { ScoreJob, Scorer } from './scorer';
import { bestOf } from './summary';

/** Scores `refs` (like 2/a0007) with candidate set `set` by the protocol above; returns their
 * records on the set's test split, in the order given. */
export async function transferAlgorithms(ctx: RunContext, scorer: Scorer, refs: string[], set: string, algorithmsDir: string): Promise<ScoredRecord[]> {
  const id = ctx.header.id;
  const candidates = ctx.config.transfer[set];
  if (!candidates) throw new Error(`run ${id} has no transfer set "${set}" (it has: ${Object.keys(ctx.config.transfer).join(', ') || 'none'})`);
  const chosen: ScoreJob[] = [];
  for (const ref of refs) {
    const parsed = parseAlgorithmRef(ref);
    const file = parsed && algorithmFile(parsed.iteration, parsed.id);
    const source = file ? await ctx.files.read(file) : undefined;
    if (!parsed || !source) throw new Error(`run ${id} has no algorithm ${ref} (use iteration/id, e.g. 1/a0003)`);
    chosen.push({ id: ref, file, source, extra: { kind: 'generated', iteration: parsed.iteration } });
  }

  // 1. Dev: the whole baseline grid (to re-tune it) and the chosen algorithms.
  const variants = await baselineVariants(algorithmsDir);
  const grid: ScoreJob[] = variants.map((v) => ({ id: v.id, source: v.source, constants: v.constants, extra: { kind: 'baseline', summary: v.method } }));
  ctx.emit({ type: 'phase', iteration: 0, phase: 'transfer', total: grid.length + chosen.length });
  const label = `transfer to "${set}"`;
  const dev = await scorer.scoreAll(0, transferDevFile(set), [...grid, ...chosen], grid.length + chosen.length, {
    base: scorer.params(candidates, 'dev'),
    jobPrefix: `${id}/transfer/${set}/dev`,
    label,
  });
  const retuned = bestOf(dev.filter((r) => r.kind === 'baseline'));

  // 2. Test, once per (set, id): the chosen algorithms and the best re-tuned baseline.
  const testBase = scorer.params(candidates, 'test');
  const onTest = [...chosen, ...(retuned ? [grid.find((g) => g.id === retuned.id)!] : [])];
  const devOf = new Map(dev.map((r) => [r.id, r]));
  for (const job of onTest) {
    ctx.checkCancelled();
    if ((await ctx.files.records<ScoredRecord>(transferTestFile(set))).some((r) => r.id === job.id)) continue;
    const hash = codeHash(normaliseCode(job.source!) + JSON.stringify(job.constants ?? {}));
    const result = await scorer.score(`${id}/transfer/${set}/test/${hash}`, job, testBase);
    const record = scorer.toRecord(job.id, devOf.get(job.id)?.iteration ?? 0, result, hash, job.file, { ...job.extra, summary: `dev ${fmt(devOf.get(job.id)?.score)}` });
    await ctx.run.appendLine(transferTestFile(set), JSON.stringify(record));
  }
  await ctx.commit(`${label}: ${refs.length} algorithm(s) and the baseline grid re-tuned on its dev split; ${onTest.length} scored on its test split`);
  const test = await ctx.files.records<ScoredRecord>(transferTestFile(set));
  return refs.map((ref) => test.filter((r) => r.id === ref).at(-1)!);
}
