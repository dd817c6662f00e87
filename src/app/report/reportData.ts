// What a run's report shows, read from the run's files only: the summary the CLI and the panel
// compute (summariseRun), each iteration's scores and its control's, the best algorithms' code,
// and the commit the report was made from.
import { isControlOf } from '../../core/run/layout';
import { latestById, type ScoredRecord } from '../../core/run/records';
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
  const baselines = latestById(await files.baselines());
  const samples: ScoreSample[] = [];
  const all: ScoredRecord[] = [];
  const bestSoFar: BestSoFarPoint[] = [];
  let sofar: ScoredRecord | undefined;
  for (const t of await files.iterations()) {
    const rs = (await files.results(t)).filter((r) => r.status === 'ok' && !vetoes.hasAlgorithm(t, r.id));
    all.push(...rs);
    for (const r of rs) samples.push({ iteration: t, source: 'factory', id: r.id, score: r.score! });
    for (const r of baselines.filter((b) => b.kind === 'control' && b.status === 'ok' && isControlOf(b.id, t))) samples.push({ iteration: t, source: 'control', id: r.id, score: r.score! });
    // The same rule as the summary's best: ties go to the earlier iteration, then the lower id.
    const best = summary.iterations.find((it) => it.iteration === t)?.best;
    if (best && (!sofar || best.score > sofar.score!)) sofar = rs.find((r) => r.id === best.id);
    if (sofar) bestSoFar.push({ iteration: t, ref: `${sofar.iteration}/${sofar.id}`, score: sofar.score!, interval: sofar.interval! });
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

  const methods = new Map<string, ScoredRecord>();
  for (const r of baselines.filter((b) => b.kind === 'baseline' && b.status === 'ok')) {
    const method = r.summary || r.id.replace(/^baseline-/, '').split('-')[0];
    const held = methods.get(method);
    if (!held || r.score! > held.score! || (r.score === held.score && r.id < held.id)) methods.set(method, r);
  }
  const baselineMethods = [...methods]
    .map(([method, r]) => ({ method, id: r.id, score: r.score!, interval: r.interval! }))
    .sort((a, b) => b.score - a.score || a.method.localeCompare(b.method));

  return { header, summary, samples, bestSoFar, best, baselineMethods, commit: head.commit, uncommittedChanges: head.dirty, madeAt: (opts.now ?? new Date()).toISOString(), version };
}
