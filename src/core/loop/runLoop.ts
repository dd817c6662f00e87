// The Self-Developing loop over one run: generate -> score on dev -> pairs -> DPO -> commit+tag,
// with the seed, tuned baselines and a random-program control scored alongside. Every step is
// idempotent and its output is on disk before the next starts, so a run killed at any moment
// continues where it stopped, losing nothing and scoring nothing twice.
import * as path from 'node:path';
import type { Backend } from '../../protocol/backend';
import type { ScoreParams, ScoreResult } from '../../protocol/backend';
import { benchmarkJobs, scoreSettings, upgradeStoredConfig, type RunConfig } from '../config/runConfig';
import {
  describeFactory,
  initialFactory,
  normaliseCode,
  parseFactoryState,
  refineWithDpo,
  sampleAlgorithms,
  traceFromCode,
  type FactoryState,
  type PreferencePair,
} from '../factory';
import { selectPairs } from '../pairs';
import { temperatureAt } from '../schedule';
import type { Run } from '../store/runStore';
import { baselineVariants } from './baselines';
import { finalizeRun, transferAlgorithms } from './finalize';
import { algorithmId, BASELINES, codeHash, iterationDir, latestById, parseJsonl, type PairRecord, type SampleRecord, type ScoredRecord } from './records';
import { meanScore, stratifiedInterval } from '../../stats';
import { scoreAll, scoreNow } from './scoring';
import { summariseRun, type RunSummary } from './summary';
import { Vetoes } from './vetoes';

export type { RunSummary } from './summary';

export type LoopPhase = 'baselines' | 'generate' | 'score' | 'control' | 'pairs' | 'refine' | 'finalize' | 'transfer';

export type LoopEvent =
  | { type: 'phase'; iteration: number; phase: LoopPhase; total?: number }
  | { type: 'scored'; iteration: number; record: ScoredRecord; done: number; total: number }
  | { type: 'committed'; message: string }
  | { type: 'paused'; iteration: number; point: PausePoint }
  | { type: 'resumed'; iteration: number; point: PausePoint };

/** Where the loop can wait for a person: before scoring what was generated, before DPO. */
export type PausePoint = 'afterGeneration' | 'beforeRefinement';

export interface PauseRequest {
  point: PausePoint;
  iteration: number;
  /** What there is to review, in a sentence. */
  detail: string;
}

export interface LoopDeps {
  /** Needed for scoring; reading a run's status needs none. */
  backend?: Backend;
  python: string;
  /** Run generated code without kernel isolation on a machine that has none (opt-in). */
  allowUnisolated?: boolean;
  /** resources/algorithms of this installation. */
  algorithmsDir: string;
  executionProvider?: string;
  threads?: number;
  signal?: AbortSignal;
  onEvent?: (e: LoopEvent) => void;
  log?: (line: string) => void;
  /**
   * Whether reading a results file may repair a last line cut short by a crash (default true).
   * False for short operations while the run's own loop may be appending: a repair rewrites the
   * file, and a line being appended at that moment would be lost.
   */
  repairFiles?: boolean;
  /** Pause points to stop at; the loop waits for onPause to settle (a throw stops it). */
  pauseAt?: readonly PausePoint[];
  onPause?: (p: PauseRequest) => Promise<void>;
}

export interface RunHeader {
  id: string;
  name: string;
  createdAt: string;
  selfdevVersion: string;
  configFile: string;
  config: RunConfig;
}

const VETOES = 'vetoes.json';

export interface ScoreJob {
  id: string;
  file?: string;
  /** Absent: score the seed itself. */
  source?: string;
  constants?: Record<string, number | string | boolean | null>;
  extra: Partial<ScoredRecord> & Pick<ScoredRecord, 'kind'>;
}

export class LoopCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'LoopCancelled';
  }
}

export class RunLoop {
  private constructor(
    readonly run: Run,
    readonly header: RunHeader,
    private readonly deps: LoopDeps,
  ) {}

  static async open(run: Run, deps: LoopDeps): Promise<RunLoop> {
    const text = await run.read('run.json');
    if (!text) throw new Error(`${run.path('run.json')}: missing: this folder is not a Self-Developing run`);
    let header: RunHeader;
    try {
      header = JSON.parse(text) as RunHeader;
    } catch (err) {
      throw new Error(`${run.path('run.json')}: not valid JSON (${(err as Error).message})`);
    }
    if (!header.config?.seed) throw new Error(`${run.path('run.json')}: field "config" is missing or damaged`);
    return new RunLoop(run, { ...header, config: upgradeStoredConfig(header.config) }, deps);
  }

  get config(): RunConfig {
    return this.header.config;
  }

  /** The backend; only operations that score need one. */
  get backend(): Backend {
    if (!this.deps.backend) throw new Error('no backend: this operation scores models');
    return this.deps.backend;
  }

  get signal(): AbortSignal | undefined {
    return this.deps.signal;
  }

  get algorithmsDir(): string {
    return this.deps.algorithmsDir;
  }

  emit(e: LoopEvent): void {
    this.deps.onEvent?.(e);
  }

  checkCancelled(): void {
    if (this.deps.signal?.aborted) throw new LoopCancelled();
  }

  async commit(message: string): Promise<void> {
    if (await this.run.commit(message)) this.emit({ type: 'committed', message });
  }

  /** Records of a JSONL file; a line cut short by a crash is dropped and the file repaired. */
  async records<T>(rel: string): Promise<T[]> {
    let truncated = false;
    const out = parseJsonl<T>(await this.run.read(rel), this.run.path(rel), () => (truncated = true));
    if (truncated && this.deps.repairFiles !== false) {
      this.deps.log?.(`${rel}: dropped a record cut short by an interruption`);
      await this.run.write(rel, out.map((r) => JSON.stringify(r)).join('\n') + (out.length ? '\n' : ''));
    }
    return out;
  }

  /** Iterations whose refinement is recorded (factory.json written). */
  async completedIterations(): Promise<number> {
    let t = 0;
    while (await this.run.read(`${iterationDir(t + 1)}/factory.json`)) t++;
    return t;
  }

  /** The records in force of one iteration's results (latest per id; earlier ones are history). */
  async results(t: number): Promise<ScoredRecord[]> {
    return latestById(await this.records<ScoredRecord>(`${iterationDir(t)}/results.jsonl`));
  }

  /** Iterations that have generated algorithms, 1..n. */
  async generatedIterations(): Promise<number> {
    let t = 0;
    while (await this.run.read(`${iterationDir(t + 1)}/samples.jsonl`)) t++;
    return t;
  }

  async vetoes(): Promise<Vetoes> {
    return Vetoes.parse(await this.run.read(VETOES), this.run.path(VETOES));
  }

  async writeVetoes(vetoes: Vetoes): Promise<void> {
    await this.run.write(VETOES, JSON.stringify(vetoes, null, 1) + '\n');
  }

  /** Waits at a pause point when the caller asked for one (the callback may throw LoopCancelled). */
  private async pause(point: PausePoint, iteration: number, detail: string): Promise<void> {
    if (!this.deps.pauseAt?.includes(point) || !this.deps.onPause) return;
    this.emit({ type: 'paused', iteration, point });
    await this.deps.onPause({ point, iteration, detail });
    this.checkCancelled();
    this.emit({ type: 'resumed', iteration, point });
  }

  /** Runs the next `count` iterations (the first also scores the seed and the baselines). */
  async iterate(count = 1): Promise<void> {
    for (let i = 0; i < count; i++) {
      this.checkCancelled();
      if (this.config.baselines) await this.scoreBaselines();
      await this.runIteration((await this.completedIterations()) + 1);
    }
  }

  private async factoryBefore(t: number): Promise<FactoryState> {
    if (t === 1) return initialFactory(this.config.randomSeed);
    const text = await this.run.read(`${iterationDir(t - 1)}/factory.json`);
    return parseFactoryState((JSON.parse(text!) as { state: unknown }).state);
  }

  private async runIteration(t: number): Promise<void> {
    const dir = iterationDir(t);
    const temperature = temperatureAt(this.config.temperature, t);
    const factory = await this.factoryBefore(t);

    // 1. Generate (deterministic in (seed, t), so a repeat writes the same files).
    let samples = await this.records<SampleRecord>(`${dir}/samples.jsonl`);
    if (samples.length < this.config.algorithmsPerIteration) {
      this.emit({ type: 'phase', iteration: t, phase: 'generate', total: this.config.algorithmsPerIteration });
      const drawn = sampleAlgorithms(factory, this.config.algorithmsPerIteration, temperature, this.config.randomSeed * 1000 + t);
      samples = drawn.map((s, i) => ({ id: algorithmId(i + 1), trace: s.trace, logProb: s.logProb, canonical: s.canonical, summary: s.summary, codeHash: codeHash(normaliseCode(s.code)) }));
      for (const [i, s] of drawn.entries()) await this.run.write(`${dir}/algorithms/${samples[i].id}.py`, s.code);
      await this.run.write(`${dir}/prompt.md`, this.promptText(t, temperature, factory));
      await this.run.write(`${dir}/samples.jsonl`, samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
      await this.commit(`iteration ${t}: generate ${samples.length} algorithms at temperature ${temperature.toFixed(3)}`);
    }

    // A person may review (edit, veto) what was generated before anything is scored.
    if (!(await this.records<ScoredRecord>(`${dir}/results.jsonl`)).length) {
      await this.pause('afterGeneration', t, `${samples.length} algorithms generated; review, edit or veto them before they are scored`);
    }

    // 2. Score on dev (vetoed algorithms are not scored: the person has ruled them out).
    this.emit({ type: 'phase', iteration: t, phase: 'score', total: samples.length });
    const vetoes = await this.vetoes();
    const jobs = await Promise.all(
      samples
        .filter((s) => !vetoes.hasAlgorithm(t, s.id))
        .map(async (s) => {
          const file = `${dir}/algorithms/${s.id}.py`;
          const source = await this.run.read(file);
          if (source === undefined) throw new Error(`${this.run.path(file)} is missing: restore it with git (git checkout -- ${file}) or veto ${t}/${s.id}`);
          const edited = codeHash(normaliseCode(source)) !== s.codeHash;
          return { id: s.id, file, source, extra: { factoryVersion: factory.version, temperature, summary: s.summary, kind: 'generated' as const, ...(edited ? { edited } : {}) } };
        }),
    );
    await scoreAll(this, t, `${dir}/results.jsonl`, jobs, samples.length);

    // 3. The random-program control: the untrained factory with the same budget, chunk by chunk.
    if (this.config.randomControl) {
      this.emit({ type: 'phase', iteration: t, phase: 'control', total: this.config.algorithmsPerIteration });
      const control = sampleAlgorithms(initialFactory(this.config.randomSeed), this.config.algorithmsPerIteration, this.config.temperature.start, 7_000_000 + this.config.randomSeed * 1000 + t);
      const controlJobs = [];
      for (const [i, s] of control.entries()) {
        const id = `control-${String(t).padStart(2, '0')}-c${String(i + 1).padStart(4, '0')}`;
        const file = `baselines/control/${id}.py`;
        if (!(await this.run.read(file))) await this.run.write(file, s.code);
        controlJobs.push({ id, file, source: s.code, extra: { kind: 'control' as const, summary: s.summary, temperature: this.config.temperature.start, factoryVersion: 0 } });
      }
      await scoreAll(this, t, BASELINES, controlJobs);
    }

    // 4. Preference pairs over everything generated so far (elitism), vetoes left out; a person
    // may review them (veto a pair or an algorithm) before refinement, so they are selected again
    // after the pause.
    this.emit({ type: 'phase', iteration: t, phase: 'pairs' });
    let selected = await this.selectAndWritePairs(t);
    if (this.deps.pauseAt?.includes('beforeRefinement')) {
      await this.pause('beforeRefinement', t, `${selected.length} preference pairs selected; review them (veto a pair or an algorithm) before refinement`);
      selected = await this.selectAndWritePairs(t);
    }
    const pairs = selected.filter((p) => !p.vetoed);

    // 5. Refine the factory by DPO against the frozen current state.
    this.emit({ type: 'phase', iteration: t, phase: 'refine', total: pairs.length });
    const traces: PreferencePair[] = [];
    for (const p of pairs) {
      const [ci, cid] = p.chosen.split('/');
      const [ri, rid] = p.rejected.split('/');
      const chosen = traceFromCode(factory, (await this.run.read(`${iterationDir(Number(ci))}/algorithms/${cid}.py`)) ?? '');
      const rejected = traceFromCode(factory, (await this.run.read(`${iterationDir(Number(ri))}/algorithms/${rid}.py`)) ?? '');
      if (chosen && rejected) traces.push({ chosen, rejected });
    }
    const report = refineWithDpo(factory, traces, this.config.refinement);
    await this.run.write(
      `${dir}/factory.json`,
      JSON.stringify(
        {
          version: report.state.version,
          temperature,
          pairs: pairs.length,
          pairsUsed: traces.length,
          losses: report.losses,
          pairAccuracyBefore: report.pairAccuracyBefore,
          pairAccuracyAfter: report.pairAccuracyAfter,
          state: report.state,
        },
        null,
        1,
      ) + '\n',
    );
    await this.writeSummary();
    await this.commit(`iteration ${t}: ${pairs.length} preference pairs, factory v${report.state.version} (DPO loss ${fmt(report.losses[0])} -> ${fmt(report.losses.at(-1))})`);
    await this.run.tag(`iteration-${String(t).padStart(2, '0')}`, `iteration ${t} finished`);
  }

  /** Selects iteration t's pairs from every record in force, without vetoed ones, and writes them. */
  async selectAndWritePairs(t: number): Promise<PairRecord[]> {
    const vetoes = await this.vetoes();
    const all: ScoredRecord[] = [];
    for (let i = 1; i <= t; i++) all.push(...(await this.results(i)));
    const scored = all.map((r) => ({ id: `${r.iteration}/${r.id}`, score: r.status === 'ok' ? r.score : undefined, iteration: r.iteration, vetoed: vetoes.hasAlgorithm(r.iteration, r.id) }));
    // A vetoed pair stays in the file, marked, so it can be shown and un-vetoed; refinement skips it.
    const pairs: PairRecord[] = selectPairs(scored, t, this.config.pairs).map((p) => (vetoes.hasPair(t, p.chosen, p.rejected) ? { ...p, vetoed: true } : p));
    await this.run.write(`${iterationDir(t)}/pairs.jsonl`, pairs.map((p) => JSON.stringify(p)).join('\n') + (pairs.length ? '\n' : ''));
    return pairs;
  }

  private promptText(t: number, temperature: number, factory: FactoryState): string {
    return [
      `# Iteration ${t}: factory prompt`,
      '',
      `The built-in grammar factory (version ${factory.version}) wrote ${this.config.algorithmsPerIteration} algorithms at temperature ${temperature.toFixed(3)}`,
      `(seed ${this.config.randomSeed * 1000 + t}). Its "prompt" is its state: the probabilities of each building block below.`,
      '',
      describeFactory(factory),
      '',
    ].join('\n');
  }

  /** The seed and every baseline variant, once per run. */
  async scoreBaselines(): Promise<void> {
    const variants = await baselineVariants(this.deps.algorithmsDir);
    const done = new Set((await this.records<ScoredRecord>(BASELINES)).map((r) => r.id));
    if (done.has('seed') && variants.every((v) => done.has(v.id))) return;
    this.emit({ type: 'phase', iteration: 0, phase: 'baselines', total: variants.length + 1 });
    await scoreAll(this, 0, BASELINES, [
      { id: 'seed', extra: { kind: 'seed' as const } },
      ...variants.map((v) => ({ id: v.id, source: v.source, constants: v.constants, extra: { kind: 'baseline' as const, summary: v.method } })),
    ]);
  }

  baseParams(candidates = this.config.candidates, split: 'dev' | 'test' = 'dev'): Omit<ScoreParams, 'jobId' | 'algorithm'> {
    const c = this.config;
    return {
      models: { seed: c.seed, candidates, mergeScope: c.mergeScope, tensorLibrary: c.tensorLibrary },
      benchmarks: benchmarkJobs(c, split),
      settings: scoreSettings(c),
      limits: c.limits,
      randomSeed: c.randomSeed,
      python: this.deps.python,
      allowUnisolated: this.deps.allowUnisolated,
      executionProvider: this.deps.executionProvider,
      threads: this.deps.threads,
    };
  }

  toRecord(id: string, iteration: number, r: ScoreResult, hash: string, file: string | undefined, extra: Partial<ScoredRecord> & Pick<ScoredRecord, 'kind'>): ScoredRecord {
    const base = { id, iteration, file, codeHash: hash, timings: r.timings, gsmAnswer: this.config.eval.gsmAnswer, ...(r.isolation ? { isolation: r.isolation } : {}), ...extra };
    if (r.status !== 'ok' || !r.scores) return { ...base, status: 'failed', errorClass: r.errorClass ?? 'exception', message: r.message, detail: r.detail };
    return {
      ...base,
      status: 'ok',
      score: meanScore(r.scores.map((s) => s.accuracy)),
      interval: intervalOf(r.scores.map((s) => s.items), this.config.randomSeed),
      scores: Object.fromEntries(r.scores.map((s) => [s.name, s.accuracy])),
      items: Object.fromEntries(r.scores.map((s) => [s.name, s.items.map((x) => (x ? '1' : '0')).join('')])),
    };
  }

  /** Scores one job now, for an edit or a re-evaluation (see scoring.ts). */
  scoreNow(iteration: number, job: ScoreJob, fresh: boolean): Promise<ScoredRecord> {
    return scoreNow(this, iteration, job, fresh);
  }

  /** summary.json: the figures per iteration, baselines, control, finalists. */
  async writeSummary(): Promise<RunSummary> {
    const summary = await summariseRun(this);
    await this.run.write('summary.json', JSON.stringify(summary, null, 1) + '\n');
    return summary;
  }

  summarise(): Promise<RunSummary> {
    return summariseRun(this);
  }

  /** Scores the top finalists by dev on the sealed test split, once per run. */
  async finalize(): Promise<RunSummary> {
    await finalizeRun(this);
    const summary = await this.writeSummary();
    await this.commit(`finalize: ${summary.sealedTest?.finalists.length ?? 0} finalists and ${summary.sealedTest?.references.length ?? 0} references scored once on the sealed test split`);
    await this.run.tag('finalized', 'sealed test split scored');
    return summary;
  }

  /** Scores algorithms (ids like 2/a0007) with another candidate set, without re-tuning. */
  transfer(ids: string[], set: string): Promise<ScoredRecord[]> {
    return transferAlgorithms(this, ids, set);
  }
}

export function fmt(x: number | undefined): string {
  return x === undefined ? '-' : x.toFixed(3);
}

export function runHeader(id: string, config: RunConfig, configFile: string, version: string): RunHeader {
  return { id, name: config.name, createdAt: new Date().toISOString(), selfdevVersion: version, configFile: path.resolve(configFile), config };
}

/** The dev score's 95% interval as results.jsonl stores it: [low, high]. */
function intervalOf(items: boolean[][], seed: number): [number, number] {
  const { low, high } = stratifiedInterval(items, { seed });
  return [low, high];
}
