// Read-only views of a run folder for the results panel and the Runs tree, in the types of the
// webview protocol. They never write: a loop may be appending to these files at the same time,
// so a last line still being written is skipped here (the loop repairs it, not a reader).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { diffLines } from 'diff';
import type { AlgorithmDetail, AlgorithmRow, DiffLine, GenerationDetail, IterationData, PairDetail, PairRow, RunOverview, ScoreHistoryEntry, ScorePoint } from '../protocol/webviewMessages';
import { pairLockedReason } from './loop/curation';
import { bestOf, iterationStats, referenceStats } from './loop/summary';
import { factoryLineage } from './run/lineage';
import { algorithmFile, algorithmsDir, ALGORITHM_FILE, algorithmRef, isControlOf, parseAlgorithmRef, promptFile, resultsFile } from './run/layout';
import { latestById, type ScoredRecord } from './run/records';
import { folderSource, RunFiles } from './run/runFiles';
import { recordCommits } from './store/recordCommits';
import type { Vetoes } from './run/vetoes';
import { temperatureAt } from './schedule';

/** A run folder as the views read it: through the one reader of run files, never rewriting. */
export class RunReader extends RunFiles {
  constructor(
    readonly runId: string,
    readonly dir: string,
  ) {
    super(folderSource(dir));
  }
}

const point = (r: ScoredRecord | undefined): ScorePoint | null => (r && r.status === 'ok' ? { id: r.id, score: r.score!, interval: r.interval ?? [r.score!, r.score!] } : null);

/** Rows of iteration t, best first, then failed, then not scored yet. */
export async function algorithmRows(reader: RunReader, t: number, vetoes?: Vetoes): Promise<AlgorithmRow[]> {
  const v = vetoes ?? (await reader.vetoes());
  const files = (await fs.readdir(path.join(reader.dir, algorithmsDir(t))).catch(() => [] as string[])).filter((f) => ALGORITHM_FILE.test(f)).sort();
  const results = new Map((await reader.results(t)).map((r) => [r.id, r]));
  const samples = new Map((await reader.samples(t)).map((s) => [s.id, s]));
  const rows: AlgorithmRow[] = files.map((f) => {
    const id = f.slice(0, -3);
    const r = results.get(id);
    return {
      id,
      iteration: t,
      status: r?.status ?? 'pending',
      score: r?.status === 'ok' ? r.score : undefined,
      interval: r?.interval,
      errorClass: r?.errorClass,
      message: r?.message,
      factoryVersion: r?.factoryVersion,
      temperature: r?.temperature,
      summary: r?.summary ?? samples.get(id)?.summary,
      vetoed: v.hasAlgorithm(t, id),
      edited: Boolean(r?.edited),
      best: false,
      reusedFrom: r?.reusedFrom,
      isolation: r?.isolation,
    };
  });
  const rank = (a: AlgorithmRow) => (a.status === 'ok' ? 0 : a.status === 'failed' ? 1 : 2);
  rows.sort((a, b) => rank(a) - rank(b) || (b.score ?? 0) - (a.score ?? 0) || a.id.localeCompare(b.id));
  const top = rows.find((r) => r.status === 'ok' && !r.vetoed);
  if (top) top.best = true;
  return rows;
}

export async function runOverview(reader: RunReader, name: string, branch: string): Promise<RunOverview> {
  const config = await reader.config();
  const vetoes = await reader.vetoes();
  const iterations: RunOverview['iterations'] = [];
  const baselines = await reader.baselines();
  let sofar: ScoredRecord | undefined;
  for (const t of await reader.iterations()) {
    const s = await iterationStats(reader, config, vetoes, t, baselines);
    if (s.best && (!sofar || s.best.score! > sofar.score!)) sofar = s.best;
    iterations.push({
      iteration: t,
      temperature: s.temperature,
      algorithms: s.algorithms,
      ok: s.ok,
      failed: s.failed,
      meanScore: s.meanScore,
      best: point(s.best),
      bestSoFar: sofar ? { ...point(sofar)!, id: algorithmRef(sofar.iteration, sofar.id) } : null,
      complete: s.complete,
    });
  }
  const refs = await referenceStats(reader, baselines);
  return {
    runId: reader.runId,
    name,
    branch,
    iterations,
    seed: point(refs.seed),
    bestBaseline: point(refs.bestBaseline),
    control: { best: point(refs.control.best), meanScore: refs.control.meanScore },
    bestCandidate: point(refs.bestCandidate),
    finalized: await reader.finalized(),
    comparisons: await comparisonRows(reader),
    transfer: await transferMatrix(reader),
    lineage: await factoryLineage(reader),
  };
}



export async function pairRows(reader: RunReader, t: number, vetoes?: Vetoes): Promise<PairRow[]> {
  const pairs = await reader.pairs(t);
  const v = vetoes ?? (await reader.vetoes());
  return pairs.map((p, index) => ({
    index,
    chosen: p.chosen,
    rejected: p.rejected,
    chosenScore: p.chosenScore,
    rejectedScore: p.rejectedScore,
    margin: p.rejectedScore === null ? null : p.chosenScore - p.rejectedScore,
    why: p.why,
    vetoed: Boolean(p.vetoed) || v.hasPair(t, p.chosen, p.rejected),
  }));
}

export async function iterationData(reader: RunReader, t: number): Promise<IterationData> {
  const config = await reader.config();
  const vetoes = await reader.vetoes();
  const baselines = await reader.baselines();
  const refs = await referenceStats(reader, baselines);
  return {
    runId: reader.runId,
    iteration: t,
    temperature: config ? temperatureAt(config.temperature, t) : NaN,
    factoryVersion: await reader.factoryVersion(t),
    algorithms: await algorithmRows(reader, t, vetoes),
    pairs: await pairRows(reader, t, vetoes),
    controlScores: refs.control.ok.filter((r) => isControlOf(r.id, t)).map((r) => r.score!),
    seed: point(refs.seed)?.score ?? null,
    bestBaseline: point(refs.bestBaseline)?.score ?? null,
    bestCandidate: point(refs.bestCandidate)?.score ?? null,
    controlLabel: config?.factory?.kind === 'llm' ? 'the unrefined generator (v0)' : 'the random-program control',
    refinement: (await iterationStats(reader, config, vetoes, t, baselines)).refinement,
  };
}

/** The sealed-test comparisons as finalize wrote them into summary.json (not recomputed here). */
async function comparisonRows(reader: RunReader): Promise<RunOverview['comparisons']> {
  if (!(await reader.finalized())) return null;
  const c = (await reader.summary())?.sealedTest?.comparisons;
  if (!c) return null;
  return {
    count: c.count,
    rows: c.list.map((x) => ({ question: x.question, a: x.a, b: x.b, difference: x.overall.difference, low: x.overall.low, high: x.overall.high, p: x.overall.p, pHolm: x.overall.pHolm })),
  };
}

/** Test scores of `selfdev transfer` as summary.json holds them: algorithms x candidate sets,
 * the re-tuned baseline of each set as its own row. */
async function transferMatrix(reader: RunReader): Promise<RunOverview['transfer']> {
  const sets = (await reader.summary())?.transfer;
  if (!Array.isArray(sets) || !sets.length) return null;
  const ids = [...new Set(sets.flatMap((t) => t.algorithms.map((a) => a.id)))];
  const RETUNED = 'baselines re-tuned on the set';
  const rows = ids.map((id) => ({ id, cells: sets.map((t) => t.algorithms.find((a) => a.id === id)?.test ?? null) }));
  rows.push({ id: RETUNED, cells: sets.map((t) => t.retuned?.test ?? null) });
  return { sets: sets.map((t) => t.set), rows };
}

/** Line diff from `before` to `after`. */
export function lineDiff(before: string, after: string): DiffLine[] {
  const out: DiffLine[] = [];
  for (const change of diffLines(before, after)) {
    const op = change.added ? '+' : change.removed ? '-' : ' ';
    const lines = change.value.split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (const text of lines) out.push({ op, text });
  }
  return out;
}

/** The best non-vetoed algorithm of iterations before t. */
async function bestBefore(reader: RunReader, t: number, vetoes: Vetoes): Promise<ScoredRecord | undefined> {
  const all: ScoredRecord[] = [];
  for (let i = 1; i < t; i++) all.push(...(await reader.results(i)).filter((r) => !vetoes.hasAlgorithm(i, r.id)));
  return bestOf(all);
}

export async function algorithmDetail(reader: RunReader, t: number, id: string): Promise<AlgorithmDetail> {
  const code = await reader.read(algorithmFile(t, id));
  if (code === undefined) throw new Error(`run ${reader.runId} has no algorithm ${t}/${id}`);
  const vetoes = await reader.vetoes();
  const row = (await algorithmRows(reader, t, vetoes)).find((r) => r.id === id)!;
  const records = await reader.allResults(t);
  const current = latestById(records).find((r) => r.id === id);
  const earlier = await bestBefore(reader, t, vetoes);
  const earlierCode = earlier && (await reader.read(algorithmFile(earlier.iteration, earlier.id)));
  return {
    runId: reader.runId,
    iteration: t,
    id,
    code,
    row,
    error: current?.status === 'failed' ? { errorClass: current.errorClass ?? 'error', message: current.message, detail: current.detail } : undefined,
    diff: earlier && earlierCode !== undefined ? { against: algorithmRef(earlier.iteration, earlier.id), againstScore: earlier.score!, lines: lineDiff(earlierCode, code) } : undefined,
    history: await scoreHistory(reader, t, id, records),
    generation: await generationDetail(reader, t, id),
  };
}

/** Every record of t/id, oldest first, with the commit that recorded each. */
async function scoreHistory(reader: RunReader, t: number, id: string, records: readonly ScoredRecord[]): Promise<ScoreHistoryEntry[]> {
  const mine = records.filter((r) => r.id === id);
  const commits = await recordCommits(reader.dir, resultsFile(t), id);
  // Matched by position when git saw every record; otherwise none is named rather than a wrong one.
  const named = commits.length === mine.length;
  return mine.map((r, k) => ({
    score: r.status === 'ok' ? r.score! : null,
    status: r.status,
    reason: !r.rescored ? 'first score' : r.rescored.reason === 'edit' ? 'edit' : 're-evaluation',
    ...(named ? { at: commits[k].at, commit: commits[k].commit, subject: commits[k].subject } : r.rescored ? { at: r.rescored.at } : {}),
  }));
}

/** The LLM factory's record of how algorithm t/id was written; undefined for the grammar factory. */
async function generationDetail(reader: RunReader, t: number, id: string): Promise<GenerationDetail | undefined> {
  const c = (await reader.completions(t)).find((r) => r.id === id);
  if (!c) return undefined;
  const x = c.extraction;
  const tokens = c.promptTokens !== undefined || c.completionTokens !== undefined ? ` · ${c.promptTokens ?? '?'} + ${c.completionTokens ?? '?'} tokens` : '';
  return {
    prompt: (await reader.read(promptFile(t))) ?? '',
    completion: c.text,
    model: c.model,
    finishReason: c.finishReason,
    sampling: `temperature ${c.sampling.temperature.toFixed(3)} · top-p ${c.sampling.topP}${c.seed !== undefined ? ` · seed ${c.seed}` : ''}${tokens}`,
    extraction: x.ok
      ? `${x.from === 'fenced' ? `fenced block ${x.chosen + 1} of ${x.blocks}` : 'bare code in the text'}${x.truncated ? ', cut off (no closing fence)' : ''}${x.definesMerge ? '' : ', defines no merge'}${x.normalised ? ', tabs and line ends normalised' : ''}`
      : `no code: ${x.detail}`,
    ...(c.duplicateOf ? { duplicateOf: c.duplicateOf } : {}),
  };
}

export async function pairDetail(reader: RunReader, t: number, index: number): Promise<PairDetail> {
  const rows = await pairRows(reader, t);
  const p = rows[index];
  if (!p) throw new Error(`iteration ${t} of run ${reader.runId} has no preference pair #${index + 1}`);
  const side = async (ref: string, score: number | null) => {
    const r = parseAlgorithmRef(ref);
    return { ref, score, code: (r && (await reader.read(algorithmFile(r.iteration, r.id)))) ?? `# ${ref}: file missing` };
  };
  return {
    runId: reader.runId,
    iteration: t,
    index,
    chosen: await side(p.chosen, p.chosenScore),
    rejected: await side(p.rejected, p.rejectedScore),
    margin: p.margin,
    why: p.why,
    vetoed: p.vetoed,
    ...((await reader.refined(t)) ? { vetoLocked: pairLockedReason(t, p) } : {}),
  };
}

export interface ReferenceRow {
  id: string;
  kind: 'seed' | 'candidate' | 'baseline' | 'control';
  status: 'ok' | 'failed';
  score?: number;
  interval?: [number, number];
  errorClass?: string;
  summary?: string;
  /** Code of a control program, relative to the run (baselines are files of the installation). */
  file?: string;
}

/** The seed, the candidate models, the tuned baselines and the control programs, best first within each kind. */
export async function referenceRows(reader: Pick<RunFiles, 'baselines'>): Promise<ReferenceRow[]> {
  const base = await reader.baselines();
  const order = { seed: 0, candidate: 1, baseline: 2, control: 3 } as const;
  return base
    .filter((r): r is ScoredRecord & { kind: ReferenceRow['kind'] } => r.kind in order)
    .map((r) => ({ id: r.id, kind: r.kind, status: r.status, score: r.score, interval: r.interval, errorClass: r.errorClass, summary: r.summary, file: r.file }))
    .sort((a, b) => order[a.kind] - order[b.kind] || (b.score ?? -1) - (a.score ?? -1) || a.id.localeCompare(b.id));
}

/** A node of the references: the seed or a candidate on its own, a baseline method with its
 * grid's variants, or the random-program controls. */
export interface ReferenceGroup {
  kind: ReferenceRow['kind'];
  /** The baseline method ("dare"), "control", or the row's id for a seed or a candidate. */
  name: string;
  /** Best first; failed ones last. */
  rows: ReferenceRow[];
  best?: ReferenceRow;
}

/** The references grouped for reading: the seed, the candidates, each baseline method (the
 * method with the best variant first) and the controls; the best variant first in each. */
export function referenceGroups(rows: readonly ReferenceRow[]): ReferenceGroup[] {
  const byScore = (a: ReferenceRow, b: ReferenceRow) => (b.status === 'ok' ? (b.score ?? -1) : -2) - (a.status === 'ok' ? (a.score ?? -1) : -2) || a.id.localeCompare(b.id);
  const group = (kind: ReferenceRow['kind'], name: string, members: ReferenceRow[]): ReferenceGroup => {
    const sorted = [...members].sort(byScore);
    return { kind, name, rows: sorted, best: sorted.find((r) => r.status === 'ok') };
  };
  const singles = (kind: 'seed' | 'candidate') => rows.filter((r) => r.kind === kind).map((r) => group(kind, r.id, [r]));
  const families = new Map<string, ReferenceRow[]>();
  for (const r of rows.filter((r) => r.kind === 'baseline')) {
    const family = r.summary || r.id.replace(/^baseline-/, '').split('-')[0];
    families.set(family, [...(families.get(family) ?? []), r]);
  }
  const baselines = [...families].map(([name, members]) => group('baseline', name, members));
  baselines.sort((a, b) => (b.best?.score ?? -1) - (a.best?.score ?? -1) || a.name.localeCompare(b.name));
  const controls = rows.filter((r) => r.kind === 'control');
  return [...singles('seed'), ...singles('candidate'), ...baselines, ...(controls.length ? [group('control', 'control', controls)] : [])];
}

/** A baseline variant by its grid point: "DROP_P=0.6, LAMBDA=0.5" ("as written" without one). */
export function variantLabel(row: Pick<ReferenceRow, 'id' | 'summary'>): string {
  const family = row.summary || row.id.replace(/^baseline-/, '').split('-')[0];
  const point = row.id.replace(/^baseline-/, '').slice(family.length).replace(/^-/, '');
  return point ? point.split(',').join(', ') : 'as written';
}
