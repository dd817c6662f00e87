// What a run's report shows, read from the run's files only: the summary the CLI and the panel
// compute (summariseRun), each iteration's scores and its control's, the best algorithms' code,
// and the commit the report was made from.
import { isControlOf } from '../../core/run/layout';
import type { ScoredRecord } from '../../core/run/records';
import { referenceGroups, referenceRows } from '../../core/runView';
import type { RunFiles, RunHeader } from '../../core/run/runFiles';
import { summariseRun, type RunSummary } from '../../core/loop/summary';

export interface ScoreSample {
  iteration: number;
  /** factory: the iteration's generated algorithms; control: its random programs. */
  source: 'factory' | 'control';
  id: string;
  score: number;
}

export interface BestSoFarPoint {
  iteration: number;
  ref: string;
  score: number;
  interval: [number, number];
}

export interface ReportAlgorithm {
  ref: string;
  dev: number;
  interval: [number, number];
  test: number | null;
  summary?: string;
  code: string;
}

export interface ReportData {
  header: RunHeader;
  summary: RunSummary;
  samples: ScoreSample[];
  bestSoFar: BestSoFarPoint[];
  /** The best distinct algorithms by dev (vetoed ones left out), with their code. */
  best: ReportAlgorithm[];
  /** The best variant of each baseline method, best first. */
  baselineMethods: { method: string; id: string; score: number; interval: [number, number] }[];
  commit: string;
  uncommittedChanges: boolean;
  madeAt: string;
  version: string;
}

export async function collectReport(files: RunFiles, head: { commit: string; dirty: boolean }, version: string, opts: { bestAlgorithms?: number; now?: Date } = {}): Promise<ReportData> {
  const header = await files.header();
  const summary = await summariseRun(files, header);
  const vetoes = await files.vetoes();
  const baselines = await files.baselines();
  const samples: ScoreSample[] = [];
  const all: ScoredRecord[] = [];
  for (const t of await files.iterations()) {
    const rs = (await files.results(t)).filter((r) => r.status === 'ok' && !vetoes.hasAlgorithm(t, r.id));
    all.push(...rs);
    for (const r of rs) samples.push({ iteration: t, source: 'factory', id: r.id, score: r.score! });
    for (const r of baselines.filter((b) => b.kind === 'control' && b.status === 'ok' && isControlOf(b.id, t))) samples.push({ iteration: t, source: 'control', id: r.id, score: r.score! });
  }
  // The running best of the summary's iteration bests (a later one must be higher to replace it).
  const bestSoFar: BestSoFarPoint[] = [];
  let sofar: BestSoFarPoint | undefined;
  for (const it of summary.iterations) {
    if (it.best && (!sofar || it.best.score > sofar.score)) sofar = { iteration: it.iteration, ref: `${it.iteration}/${it.best.id}`, score: it.best.score, interval: it.best.interval };
    if (sofar) bestSoFar.push({ ...sofar, iteration: it.iteration });
  }

  const finalTest = new Map((summary.sealedTest?.finalists ?? []).map((f) => [f.id, f.test]));
  const seen = new Set<string>();
  const ranked = all
    .filter((r) => !r.reusedFrom)
    .sort((a, b) => b.score! - a.score! || a.iteration - b.iteration || a.id.localeCompare(b.id))
    .filter((r) => !seen.has(r.codeHash ?? r.id) && seen.add(r.codeHash ?? r.id))
    .slice(0, opts.bestAlgorithms ?? 3);
  const best: ReportAlgorithm[] = [];
  for (const r of ranked) {
    const ref = `${r.iteration}/${r.id}`;
    best.push({ ref, dev: r.score!, interval: r.interval!, test: finalTest.get(ref) ?? null, summary: r.summary, code: (r.file ? await files.read(r.file) : undefined) ?? '' });
  }

  // The Runs tree's grouping: each method's best variant, the best method first.
  const baselineMethods = referenceGroups(await referenceRows(files))
    .filter((g) => g.kind === 'baseline' && g.best)
    .map((g) => ({ method: g.name, id: g.best!.id, score: g.best!.score!, interval: g.best!.interval! }));

  return { header, summary, samples, bestSoFar, best, baselineMethods, commit: head.commit, uncommittedChanges: head.dirty, madeAt: (opts.now ?? new Date()).toISOString(), version };
}
