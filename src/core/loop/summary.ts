// The figures of a run, computed in one place: per iteration (vetoed algorithms left out) and
// for the references (seed, best tuned baseline, random-program control). summary.json, the CLI's
// status and the results panel all show these same numbers.
import type { FactoryStep } from '../../protocol/webviewMessages';
import { factoryLineage } from '../run/lineage';
import { meanScore } from '../../stats';
import type { RunConfig } from '../config/runConfig';
import { latestById, type ScoredRecord } from '../run/records';
import { algorithmRef, isControlOf, SUMMARY_FILE, transferDevFile, transferTestFile } from '../run/layout';
import type { RunFiles, RunHeader } from '../run/runFiles';
import type { Vetoes } from '../run/vetoes';
import { temperatureAt } from '../schedule';
import { pairedOnItems, refinementFigure, sealedComparisons, type Difference, type RefinementFigure, type SealedComparisons } from './comparisons';

export interface RunSummary {
  run: string;
  seed: BriefRecord | null;
  bestBaseline: BriefRecord | null;
  /** Each candidate model scored as it is, on dev: the references a merge has to beat. */
  candidates: BriefRecord[];
  bestCandidate: BriefRecord | null;
  control: { algorithms: number; ok: number; best: BriefRecord | null; meanScore: number | null };
  iterations: (Omit<IterationStats, 'best' | 'control'> & { best: BriefRecord | null; control: Omit<IterationStats['control'], 'best'> & { best: BriefRecord | null } })[];
  sealedTest: { evaluations: number; finalists: SealedEntry[]; control: SealedEntry[]; references: SealedEntry[]; comparisons: SealedComparisons | null } | null;
  /** Transfer to other candidate sets (selfdev transfer): each chosen algorithm against the
   * baseline grid re-tuned on the set's dev split, on the set's test split. */
  transfer: TransferSummary[];
  /** The factory's versions: which wrote each iteration, and what refinement made of its pairs. */
  lineage: FactoryStep[];
}

export interface TransferSummary {
  set: string;
  /** The best baseline of the grid re-tuned on the set's dev split. */
  retuned: SealedEntry | null;
  algorithms: (SealedEntry & { vsRetuned: Difference | null })[];
}

export interface SealedEntry {
  id: string;
  dev: string | null;
  test: number | null;
  interval: [number, number] | null;
  status: string;
}

export interface BriefRecord {
  id: string;
  score: number;
  interval: [number, number];
  scores: Record<string, number>;
}

/** The best algorithm of all iterations so far (each iteration's best already leaves vetoed ones
 * out), from a summary as written or read back (a damaged one has no best). */
export function bestSoFar(summary: { iterations?: unknown }): { score: number; ref: string } | undefined {
  let best: { score: number; ref: string } | undefined;
  if (!Array.isArray(summary.iterations)) return undefined;
  for (const it of summary.iterations as { iteration?: unknown; best?: { id?: unknown; score?: unknown } | null }[]) {
    const b = it?.best;
    if (typeof it?.iteration !== 'number' || typeof b?.id !== 'string' || typeof b.score !== 'number') continue;
    if (!best || b.score > best.score) best = { score: b.score, ref: algorithmRef(it.iteration, b.id) };
  }
  return best;
}

/** The best scored record; ties go to the earlier iteration, then the lower id, so the choice is stable. */
export function bestOf(rs: readonly ScoredRecord[]): ScoredRecord | undefined {
  return rs.filter((r) => r.status === 'ok').sort((a, b) => b.score! - a.score! || a.iteration - b.iteration || a.id.localeCompare(b.id))[0];
}

export interface IterationStats {
  iteration: number;
  /** NaN when the run's config cannot be read. */
  temperature: number;
  algorithms: number;
  ok: number;
  failed: number;
  meanScore: number | null;
  best: ScoredRecord | undefined;
  /** Finished: its factory.json is written (refined, or its refinement deferred). */
  complete: boolean;
  /** The random-program control of this iteration (same temperature and budget), against the factory. */
  control: { algorithms: number; ok: number; meanScore: number | null; best: ScoredRecord | undefined };
  refinement: RefinementFigure | null;
}

/** One iteration's figures, vetoed algorithms left out. */
/** `baselines`: the records of baselines/results.jsonl when the caller has read them already. */
export async function iterationStats(files: RunFiles, config: RunConfig | undefined, vetoes: Vetoes, t: number, baselines?: ScoredRecord[]): Promise<IterationStats> {
  const rs = (await files.results(t)).filter((r) => !vetoes.hasAlgorithm(t, r.id));
  const ok = rs.filter((r) => r.status === 'ok');
  const control = (baselines ?? (await files.baselines())).filter((r) => r.kind === 'control' && isControlOf(r.id, t));
  const controlOk = control.filter((r) => r.status === 'ok');
  return {
    iteration: t,
    temperature: config ? temperatureAt(config.temperature, t) : NaN,
    algorithms: rs.length,
    ok: ok.length,
    failed: rs.length - ok.length,
    meanScore: ok.length ? meanScore(ok.map((r) => r.score!)) : null,
    best: bestOf(rs),
    complete: await files.finished(t),
    control: { algorithms: control.length, ok: controlOk.length, meanScore: controlOk.length ? meanScore(controlOk.map((r) => r.score!)) : null, best: bestOf(controlOk) },
    refinement: refinementFigure(ok.map((r) => r.score!), controlOk.map((r) => r.score!), config?.randomSeed ?? 0),
  };
}

export interface ReferenceStats {
  seed: ScoredRecord | undefined;
  bestBaseline: ScoredRecord | undefined;
  candidates: ScoredRecord[];
  bestCandidate: ScoredRecord | undefined;
  control: { all: ScoredRecord[]; ok: ScoredRecord[]; best: ScoredRecord | undefined; meanScore: number | null };
}

/** The seed, the best tuned baseline by dev and the random-program control. */
export async function referenceStats(files: RunFiles, baselines?: ScoredRecord[]): Promise<ReferenceStats> {
  const base = baselines ?? (await files.baselines());
  const all = base.filter((r) => r.kind === 'control');
  const ok = all.filter((r) => r.status === 'ok');
  const candidates = base.filter((r) => r.kind === 'candidate');
  return {
    seed: base.find((r) => r.id === 'seed'),
    bestBaseline: bestOf(base.filter((r) => r.kind === 'baseline')),
    candidates,
    bestCandidate: bestOf(candidates),
    control: { all, ok, best: bestOf(ok), meanScore: ok.length ? meanScore(ok.map((r) => r.score!)) : null },
  };
}

const brief = (r: ScoredRecord | undefined): BriefRecord | null => (r ? { id: r.id, score: r.score!, interval: r.interval!, scores: r.scores! } : null);

export async function summariseRun(files: RunFiles, header: RunHeader): Promise<RunSummary> {
  const vetoes = await files.vetoes();
  const baselines = await files.baselines(); // read once for every figure below
  const iterations: RunSummary['iterations'] = [];
  for (const t of await files.iterations()) {
    const s = await iterationStats(files, header.config, vetoes, t, baselines);
    iterations.push({ ...s, best: brief(s.best), control: { ...s.control, best: brief(s.control.best) } });
  }
  const refs = await referenceStats(files, baselines);
  const final = await files.finalResults();
  const finalControl = await files.finalControl();
  const references = await files.finalReferences();
  const dev = new Map(baselines.map((r) => [r.id, r.score]));
  const sealed = (r: ScoredRecord): SealedEntry => ({ id: r.id, dev: r.summary ?? null, test: r.score ?? null, interval: r.interval ?? null, status: r.status });
  const transfer: TransferSummary[] = [];
  for (const set of Object.keys(header.config.transfer ?? {})) {
    const test = latestById(await files.records<ScoredRecord>(transferTestFile(set)));
    if (!test.length) continue;
    const retunedDev = bestOf((await files.records<ScoredRecord>(transferDevFile(set))).filter((r) => r.kind === 'baseline'));
    const retuned = test.find((r) => r.id === retunedDev?.id);
    transfer.push({
      set,
      retuned: retuned ? sealed(retuned) : null,
      algorithms: test.filter((r) => r.kind === 'generated').map((r) => ({ ...sealed(r), vsRetuned: pairedOnItems(r, retuned, header.config.randomSeed) })),
    });
  }
  return {
    run: header.id,
    seed: brief(refs.seed),
    bestBaseline: brief(refs.bestBaseline),
    candidates: refs.candidates.filter((r) => r.status === 'ok').map((r) => brief(r)!),
    bestCandidate: brief(refs.bestCandidate),
    control: { algorithms: refs.control.all.length, ok: refs.control.ok.length, best: brief(refs.control.best), meanScore: refs.control.meanScore },
    iterations,
    sealedTest: final.length
      ? {
          evaluations: final.length + finalControl.length + references.length,
          finalists: final.map(sealed),
          control: finalControl.map(sealed),
          references: references.map(sealed),
          comparisons: sealedComparisons({ finalists: final, control: finalControl, references, devScore: (id) => dev.get(id), seed: header.config.randomSeed }),
        }
      : null,
    transfer,
    lineage: await factoryLineage(files),
  };
}

/** Computes summary.json and writes it into the run (committed with the step that changed it). */
export async function writeSummary(ctx: { files: RunFiles; header: RunHeader; run: { write(rel: string, text: string): Promise<void> } }): Promise<RunSummary> {
  const summary = await summariseRun(ctx.files, ctx.header);
  await ctx.run.write(SUMMARY_FILE, JSON.stringify(summary, null, 1) + '\n');
  return summary;
}
