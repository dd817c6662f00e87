// The Self-Developing loop over one run: generate -> score on dev -> pairs -> DPO -> commit+tag,
// with the seed, tuned baselines and a random-program control scored alongside. Every step is
// idempotent and its output is on disk before the next starts, so a run killed at any moment
// continues where it stopped, losing nothing and scoring nothing twice.
// The loop's parts take narrow pieces: the run (RunContext: header, files, worktree, events)
// and a Scorer; nothing reaches back into the loop.
import * as path from 'node:path';
import type { LlmFactoryConfig, RunConfig } from '../config/runConfig';
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
import { algorithmFile, algorithmId, BASELINES_FILE, candidateId, controlFile, controlId, factoryFile, iterationTag, pairsFile, parseAlgorithmRef, promptFile, resultsFile, samplesFile } from '../run/layout';
import { codeHash, type PairRecord, type SampleRecord, type ScoredRecord } from '../run/records';
import { RunFiles, type RunHeader } from '../run/runFiles';
import { temperatureAt } from '../schedule';
import type { Run } from '../store/runStore';
import { baselineVariants } from './baselines';
import { fmt, LoopCancelled, type LoopEvent, type PausePoint, type RunContext } from './context';
import { finalizeRun } from './finalize';
import { transferAlgorithms } from './transfer';
import { exportModel, type ExportModelOptions } from './exportModel';
import { generateLlmControl, generateWithLlm, NO_CODE_MESSAGE } from './llmGeneration';
import { refineLlmFactory } from './llmRefinement';
import type { LlmFactoryRecord, LlmRefinement, RefinedWeights } from '../factory/llmFactoryRecord';
import { Scorer, type ScoreJob, type ScoringDeps } from './scorer';
import { summariseRun, writeSummary, type RunSummary } from './summary';

export type { RunSummary } from './summary';
export type { RunHeader } from '../run/runFiles';
export { fmt, LoopCancelled, type LoopEvent, type LoopPhase, type PausePoint } from './context';
export type { ScoreJob } from './scorer';

export interface PauseRequest {
  point: PausePoint;
  iteration: number;
  /** What there is to review, in a sentence. */
  detail: string;
}

export interface LoopDeps extends ScoringDeps {
  /** resources/algorithms of this installation: needed for the baselines and finalize. */
  algorithmsDir?: string;
  /** resources/prompts of this installation: the LLM factory's default prompt template. */
  promptsDir?: string;
  /** Python with TRL and PEFT for the LLM factory's DPO (on the backend's machine; the backend's
   * default when absent: its .venv-llm, else python3). */
  trainPython?: string;
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

export class RunLoop implements RunContext {
  readonly scorer: Scorer;

  private constructor(
    readonly run: Run,
    readonly files: RunFiles,
    readonly header: RunHeader,
    private readonly deps: LoopDeps,
  ) {
    this.scorer = new Scorer(this, deps);
  }

  static async open(run: Run, deps: LoopDeps = {}): Promise<RunLoop> {
    const files = new RunFiles(run, { repair: deps.repairFiles !== false, log: deps.log });
    return new RunLoop(run, files, await files.header(), deps);
  }

  get config(): RunConfig {
    return this.header.config;
  }

  get signal(): AbortSignal | undefined {
    return this.deps.signal;
  }

  private get algorithmsDir(): string {
    if (!this.deps.algorithmsDir) throw new Error('no algorithms folder: this operation scores the baselines');
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
      let ended = 'stopped by an error';
      try {
        this.checkCancelled();
        if (this.config.baselines) await this.scoreBaselines();
        await this.runIteration((await this.files.completedIterations()) + 1);
        ended = 'the iteration ended';
      } finally {
        // The iteration's end (or its cancel or failure) releases its workers.
        await this.scorer.releaseWorkers(this.deps.signal?.aborted ? 'cancelled' : ended);
      }
    }
  }

  private async factoryBefore(t: number): Promise<FactoryState> {
    if (t === 1 || this.config.factory.kind !== 'grammar') return initialFactory(this.config.randomSeed);
    const text = await this.files.read(factoryFile(t - 1));
    return parseFactoryState((JSON.parse(text!) as { state: unknown }).state);
  }

  /** The LLM generator that writes iteration t: version 0 (the configured model) until DPO makes
   * new ones. A refinement deferred at t - 1 (the last planned iteration then) runs now. */
  private async llmBefore(t: number): Promise<{ version: number; weights: RefinedWeights | null }> {
    if (t === 1) return { version: 0, weights: null };
    let before = await this.files.llmFactory(t - 1);
    if (before?.refinement?.status === 'deferred') {
      // Selected again: a person may have vetoed pairs or algorithms since.
      const pairs = (await this.selectAndWritePairs(t - 1)).filter((p) => !p.vetoed);
      await this.refineLlm(t - 1, before.temperature, before.wrote, before.weights, pairs);
      before = await this.files.llmFactory(t - 1);
    }
    return { version: before?.version ?? 0, weights: before?.weights ?? null };
  }

  private async runIteration(t: number): Promise<void> {
    const temperature = temperatureAt(this.config.temperature, t);
    const llm = this.config.factory.kind === 'llm' ? this.config.factory : undefined;
    const factory = await this.factoryBefore(t);
    const writer = llm ? await this.llmBefore(t) : undefined;
    const factoryVersion = writer ? writer.version : factory.version;

    // 1. Generate (deterministic in (seed, t), so a repeat writes the same files).
    let samples: SampleRecord[] = await this.files.samples(t);
    if (llm && samples.length < this.config.algorithmsPerIteration) {
      this.emit({ type: 'phase', iteration: t, phase: 'generate', total: this.config.algorithmsPerIteration });
      samples = await generateWithLlm(this, llm, t, temperature, { ...this.deps, factoryVersion, weights: writer?.weights?.artifact });
      const coded = samples.filter((s) => !s.noCode).length;
      await this.commit(`iteration ${t}: the LLM factory wrote ${samples.length} completions at temperature ${temperature.toFixed(3)}, ${coded} with code`);
    } else if (samples.length < this.config.algorithmsPerIteration) {
      this.emit({ type: 'phase', iteration: t, phase: 'generate', total: this.config.algorithmsPerIteration });
      const drawn = sampleAlgorithms(factory, this.config.algorithmsPerIteration, temperature, this.config.randomSeed * 1000 + t);
      samples = drawn.map((s, i) => ({ id: algorithmId(i + 1), trace: s.trace, logProb: s.logProb, canonical: s.canonical, summary: s.summary, codeHash: codeHash(normaliseCode(s.code)) }));
      for (const [i, s] of drawn.entries()) await this.run.write(algorithmFile(t, samples[i].id), s.code);
      await this.run.write(promptFile(t), this.promptText(t, temperature, factory));
      await this.run.write(samplesFile(t), samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
      await this.commit(`iteration ${t}: generate ${samples.length} algorithms at temperature ${temperature.toFixed(3)}`);
    }

    // A person may review (edit, veto) what was generated before anything is scored.
    if (!(await this.files.allResults(t)).length) {
      await this.pause('afterGeneration', t, `${samples.length} algorithms generated; review, edit or veto them before they are scored`);
    }

    // 2. Score on dev (vetoed algorithms are not scored: the person has ruled them out).
    this.emit({ type: 'phase', iteration: t, phase: 'score', total: samples.length });
    const vetoes = await this.files.vetoes();
    const jobs: ScoreJob[] = await Promise.all(
      samples
        .filter((s) => !vetoes.hasAlgorithm(t, s.id))
        .map(async (s) => {
          const file = algorithmFile(t, s.id);
          const source = await this.files.read(file);
          if (source === undefined) throw new Error(`${this.run.path(file)} is missing: restore it with git (git checkout -- ${file}) or veto ${t}/${s.id}`);
          const edited = codeHash(normaliseCode(source)) !== s.codeHash;
          const extra = { factoryVersion, temperature, summary: s.summary, kind: 'generated' as const, ...(edited ? { edited } : {}) };
          // A completion without code fails as no_code, unless a person has since written code into its file.
          if (s.noCode && !edited) return { id: s.id, file, source, extra, failure: { errorClass: 'no_code', message: NO_CODE_MESSAGE, detail: s.noCode.detail } };
          return { id: s.id, file, source, extra };
        }),
    );
    await this.scorer.scoreAll(t, resultsFile(t), jobs, samples.length);

    // 3. The control: the untrained factory with the same budget at the same temperature, so
    // factory against control measures refinement and nothing else. For an LLM factory, the
    // unrefined generator with the same prompt and seed; for the grammar, random programs.
    if (this.config.randomControl && llm) {
      this.emit({ type: 'phase', iteration: t, phase: 'control', total: this.config.algorithmsPerIteration });
      await this.scorer.scoreAll(t, BASELINES_FILE, await generateLlmControl(this, llm, t, temperature, this.deps));
    } else if (this.config.randomControl) {
      this.emit({ type: 'phase', iteration: t, phase: 'control', total: this.config.algorithmsPerIteration });
      const control = sampleAlgorithms(initialFactory(this.config.randomSeed), this.config.algorithmsPerIteration, temperature, 7_000_000 + this.config.randomSeed * 1000 + t);
      const controlJobs = [];
      for (const [i, s] of control.entries()) {
        const id = controlId(t, i + 1);
        const file = controlFile(id);
        if (!(await this.files.read(file))) await this.run.write(file, s.code);
        controlJobs.push({ id, file, source: s.code, extra: { kind: 'control' as const, summary: s.summary, temperature, factoryVersion: 0 } });
      }
      await this.scorer.scoreAll(t, BASELINES_FILE, controlJobs);
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
    if (llm) {
      if (t >= this.config.iterations) {
        await this.writeLlmFactory(t, temperature, writer!.version, writer!.weights, pairs.length, {
          status: 'deferred',
          reason: `iteration ${t} is the last planned one (iterations: ${this.config.iterations}): its pairs refine the generator if the run continues`,
        });
      } else {
        await this.refineLlm(t, temperature, writer!.version, writer!.weights, pairs);
      }
      return;
    }
    const traces: PreferencePair[] = [];
    const codeOf = async (ref: string) => {
      const r = parseAlgorithmRef(ref);
      return (r && (await this.files.read(algorithmFile(r.iteration, r.id)))) ?? '';
    };
    for (const p of pairs) {
      const chosen = traceFromCode(factory, await codeOf(p.chosen));
      const rejected = traceFromCode(factory, await codeOf(p.rejected));
      if (chosen && rejected) traces.push({ chosen, rejected });
    }
    const report = refineWithDpo(factory, traces, this.config.refinement);
    await this.run.write(
      factoryFile(t),
      JSON.stringify(
        {
          kind: 'grammar',
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
    await writeSummary(this);
    await this.commit(`iteration ${t}: ${pairs.length} preference pairs, factory v${report.state.version} (DPO loss ${fmt(report.losses[0])} -> ${fmt(report.losses.at(-1))})`);
    await this.run.tag(iterationTag(t), `iteration ${t} finished`);
  }

  /** Refines the LLM generator on iteration t's pairs (or records why not) and writes factory.json. */
  private async refineLlm(t: number, temperature: number, version: number, weights: RefinedWeights | null, pairs: PairRecord[]): Promise<void> {
    const refinement = await refineLlmFactory(this, this.config.factory as LlmFactoryConfig, t, pairs, { version, weights }, this.deps);
    if (refinement.status !== 'refined') this.deps.log?.(`iteration ${t}: the LLM generator was not refined: ${refinement.reason}`);
    await this.writeLlmFactory(t, temperature, version, weights, pairs.length, refinement);
  }

  /**
   * factory.json of an LLM factory iteration: the version that wrote it, its refinement (DPO on
   * its pairs, or why not) and the version, with its weights, that writes the next iteration.
   */
  private async writeLlmFactory(t: number, temperature: number, wrote: number, weights: RefinedWeights | null, pairs: number, refinement: LlmRefinement): Promise<void> {
    const f = this.config.factory as LlmFactoryConfig;
    const g = f.generator;
    const refined = refinement.status === 'refined';
    const record: LlmFactoryRecord = {
      kind: 'llm',
      version: refined ? wrote + 1 : wrote,
      parentVersion: refined ? wrote : wrote === 0 ? null : wrote - 1,
      wrote,
      generator: g.kind === 'engine' ? { kind: 'engine', model: g.model === 'seed' ? 'seed' : path.basename(g.model), chat: g.chat } : { kind: 'openai', baseUrl: g.baseUrl, model: g.model, api: g.api },
      weights: refined ? { artifact: refinement.weights.artifact, hash: refinement.weights.hash } : weights,
      temperature,
      pairs,
      pairsUsed: refined ? refinement.data.train.rows : 0,
      refinement,
    };
    await this.run.write(factoryFile(t), JSON.stringify(record, null, 1) + '\n');
    await writeSummary(this);
    const m = refined ? refinement.metrics : undefined;
    const heldOut = m?.heldOut ? `; held-out margin ${fmt(m.heldOut.before.meanMargin)} -> ${fmt(m.heldOut.after.meanMargin)}` : '';
    await this.commit(
      refined
        ? `iteration ${t}: ${pairs} preference pairs, LLM factory v${wrote} -> v${record.version} by DPO (loss ${fmt(m!.train.lossFirst ?? undefined)} -> ${fmt(m!.train.lossLast ?? undefined)}${heldOut})`
        : `iteration ${t}: ${pairs} preference pairs, LLM factory v${wrote} (${refinement.status === 'deferred' ? 'refinement deferred' : 'not refined'})`,
    );
    await this.run.tag(iterationTag(t), `iteration ${t} finished`);
  }

  /** Selects iteration t's pairs from every record in force, without vetoed ones, and writes them. */
  private async selectAndWritePairs(t: number): Promise<PairRecord[]> {
    const vetoes = await this.files.vetoes();
    const all: ScoredRecord[] = [];
    for (let i = 1; i <= t; i++) all.push(...(await this.files.results(i)));
    const scored = all.map((r) => ({ id: `${r.iteration}/${r.id}`, score: r.status === 'ok' ? r.score : undefined, iteration: r.iteration, vetoed: vetoes.hasAlgorithm(r.iteration, r.id) }));
    // A vetoed pair stays in the file, marked, so it can be shown and un-vetoed; refinement skips it.
    const pairs: PairRecord[] = selectPairs(scored, t, this.config.pairs).map((p) => (vetoes.hasPair(t, p.chosen, p.rejected) ? { ...p, vetoed: true } : p));
    await this.run.write(pairsFile(t), pairs.map((p) => JSON.stringify(p)).join('\n') + (pairs.length ? '\n' : ''));
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

  /** The seed, each candidate model as it is, and every baseline variant, once per run. */
  private async scoreBaselines(): Promise<void> {
    const variants = await baselineVariants(this.algorithmsDir);
    const jobs: ScoreJob[] = [
      { id: 'seed', extra: { kind: 'seed' } },
      ...this.config.candidates.map((model, k) => ({ id: candidateId(k + 1), model, extra: { kind: 'candidate' as const, summary: path.basename(model) } })),
      ...variants.map((v) => ({ id: v.id, source: v.source, constants: v.constants, extra: { kind: 'baseline' as const, summary: v.method } })),
    ];
    const done = new Set((await this.files.records<ScoredRecord>(BASELINES_FILE)).map((r) => r.id));
    if (jobs.every((j) => done.has(j.id))) return;
    this.emit({ type: 'phase', iteration: 0, phase: 'baselines', total: jobs.length });
    await this.scorer.scoreAll(0, BASELINES_FILE, jobs);
  }

  /** summary.json: the figures per iteration, baselines, control, finalists. */
  writeSummary(): Promise<RunSummary> {
    return writeSummary(this);
  }

  summarise(): Promise<RunSummary> {
    return summariseRun(this.files, this.header);
  }

  /** Scores the top finalists by dev on the sealed test split, once per run. */
  async finalize(): Promise<RunSummary> {
    try {
      await finalizeRun(this, this.scorer, this.algorithmsDir);
    } finally {
      await this.scorer.releaseWorkers('finalize ended');
    }
    const summary = await writeSummary(this);
    await this.commit(`finalize: ${summary.sealedTest?.finalists.length ?? 0} finalists and ${summary.sealedTest?.references.length ?? 0} references scored once on the sealed test split`);
    await this.run.tag('finalized', 'sealed test split scored');
    return summary;
  }

  /** Writes the merged model of `ref` (2/a0007, best, a baseline or control id) as a checkpoint
   * on the backend's machine (exportModel.ts). */
  exportModel(ref: string, o: ExportModelOptions): ReturnType<typeof exportModel> {
    return exportModel(this, this.scorer, ref, this.algorithmsDir, o);
  }

  /** Scores algorithms (ids like 2/a0007) with another candidate set, against the baselines
   * re-tuned on that set's dev split; both then on its test split, once (transfer.ts). */
  async transfer(ids: string[], set: string): Promise<ScoredRecord[]> {
    try {
      return await transferAlgorithms(this, this.scorer, ids, set, this.algorithmsDir);
    } finally {
      await this.scorer.releaseWorkers('transfer ended');
    }
  }
}

export function runHeader(id: string, config: RunConfig, configFile: string, version: string, backend?: RunHeader['backend']): RunHeader {
  return { id, name: config.name, createdAt: new Date().toISOString(), selfdevVersion: version, configFile: path.resolve(configFile), config, ...(backend ? { backend } : {}) };
}
