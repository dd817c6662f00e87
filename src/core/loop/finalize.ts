// After the loop: the finalists on the sealed test split (once per run), and transfer of chosen
// algorithms to another candidate set without re-tuning.
import { normaliseCode } from '../factory';
import { baselineVariants } from './baselines';
import { BASELINES, codeHash, iterationDir, latestById, type ScoredRecord } from './records';
import { fmt, type RunLoop } from './runLoop';
import { bestOf } from './summary';

const FINAL = 'finalize/results.jsonl';
const REFERENCES = 'finalize/references.jsonl';

/** Scores the top distinct finalists by dev, then the seed and best baseline, on the test split. */
export async function finalizeRun(loop: RunLoop): Promise<void> {
  const id = loop.header.id;
  if ((await loop.records<ScoredRecord>(FINAL)).length && (await loop.run.read('finalize/sealed.json'))) {
    throw new Error(`run ${id} was already finalized: the test split is scored only once (see ${FINAL})`);
  }
  const vetoes = await loop.vetoes();
  const all: ScoredRecord[] = [];
  const generated = await loop.generatedIterations();
  for (let t = 1; t <= generated; t++) all.push(...(await loop.results(t)));
  const seen = new Set<string>();
  const finalists = all
    .filter((r) => r.status === 'ok' && !r.reusedFrom && !vetoes.hasAlgorithm(r.iteration, r.id))
    .sort((a, b) => b.score! - a.score! || a.iteration - b.iteration || a.id.localeCompare(b.id))
    .filter((r) => !seen.has(r.codeHash!) && seen.add(r.codeHash!))
    .slice(0, loop.config.finalists);
  if (!finalists.length) throw new Error(`run ${id} has no successfully scored algorithm to finalize`);
  loop.emit({ type: 'phase', iteration: 0, phase: 'finalize', total: finalists.length });
  const base = loop.baseParams(loop.config.candidates, 'test');
  for (const [i, f] of finalists.entries()) {
    loop.checkCancelled();
    const ref = `${f.iteration}/${f.id}`;
    if ((await loop.records<ScoredRecord>(FINAL)).some((r) => r.id === ref)) continue;
    const result = await loop.backend.score({ ...base, jobId: `${id}/test/${f.codeHash}`, algorithm: { source: (await loop.run.read(f.file!))! } }, { signal: loop.signal });
    const record = loop.toRecord(ref, f.iteration, result, f.codeHash!, f.file, { kind: 'generated', summary: `dev ${fmt(f.score)}` });
    await loop.run.appendLine(FINAL, JSON.stringify(record));
    loop.emit({ type: 'scored', iteration: 0, record, done: i + 1, total: finalists.length });
  }
  // Reference points on the same sealed split: the seed and the best tuned baseline by dev.
  const baselines = latestById(await loop.records<ScoredRecord>(BASELINES));
  const references = [baselines.find((r) => r.id === 'seed'), bestOf(baselines.filter((r) => r.kind === 'baseline'))].filter((r): r is ScoredRecord => Boolean(r));
  const variants = await baselineVariants(loop.algorithmsDir);
  for (const ref of references) {
    loop.checkCancelled();
    if ((await loop.records<ScoredRecord>(REFERENCES)).some((r) => r.id === ref.id)) continue;
    const variant = variants.find((v) => v.id === ref.id);
    const result = await loop.backend.score(
      { ...base, jobId: `${id}/test/${ref.codeHash}`, algorithm: variant && { source: variant.source, constants: variant.constants } },
      { signal: loop.signal },
    );
    await loop.run.appendLine(REFERENCES, JSON.stringify(loop.toRecord(ref.id, 0, result, ref.codeHash ?? 'seed', ref.file, { kind: ref.kind, summary: `dev ${fmt(ref.score)}` })));
  }
  const testEvaluations = finalists.length + references.length;
  await loop.run.write(
    'finalize/sealed.json',
    JSON.stringify({ finalizedAt: new Date().toISOString(), testEvaluations, finalists: finalists.length, references: references.map((r) => r.id) }, null, 1) + '\n',
  );
}

/** Scores algorithms (refs like 2/a0007) with another candidate set, without re-tuning. */
export async function transferAlgorithms(loop: RunLoop, refs: string[], set: string): Promise<ScoredRecord[]> {
  const id = loop.header.id;
  const candidates = loop.config.transfer[set];
  if (!candidates) throw new Error(`run ${id} has no transfer set "${set}" (it has: ${Object.keys(loop.config.transfer).join(', ') || 'none'})`);
  const base = loop.baseParams(candidates, 'dev');
  const out: ScoredRecord[] = [];
  loop.emit({ type: 'phase', iteration: 0, phase: 'transfer', total: refs.length });
  for (const [i, ref] of refs.entries()) {
    loop.checkCancelled();
    const [t, aid] = ref.includes('/') ? ref.split('/') : [undefined, ref];
    const file = t ? `${iterationDir(Number(t))}/algorithms/${aid}.py` : undefined;
    const source = file ? await loop.run.read(file) : undefined;
    if (!source) throw new Error(`run ${id} has no algorithm ${ref} (use iteration/id, e.g. 1/a0003)`);
    const hash = codeHash(normaliseCode(source));
    const result = await loop.backend.score({ ...base, jobId: `${id}/transfer/${set}/${hash}`, algorithm: { source } }, { signal: loop.signal });
    const record = loop.toRecord(ref, Number(t), result, hash, file, { kind: 'generated' });
    await loop.run.appendLine(`transfer/${set}.jsonl`, JSON.stringify(record));
    loop.emit({ type: 'scored', iteration: 0, record, done: i + 1, total: refs.length });
    out.push(record);
  }
  await loop.commit(`transfer: ${refs.length} algorithm(s) to candidate set "${set}"`);
  return out;
}
