// The Self-Developing loop over one run: generate -> score on dev -> pairs -> DPO -> commit+tag,
// with the seed, tuned baselines and a random-program control scored alongside. Every step is
// idempotent and its output is on disk before the next starts, so a run killed at any moment
// continues where it stopped, losing nothing and scoring nothing twice.
import * as path from 'node:path';
import type { Backend } from '../../backend/client';
import type { ScoreParams, ScoreResult } from '../../protocol/backend';
import type { RunConfig } from '../config/runConfig';
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
import { algorithmId, codeHash, iterationDir, parseJsonl, type PairRecord, type SampleRecord, type ScoredRecord } from './records';
import { meanScore, stratifiedInterval } from './scoreMath';

export type LoopPhase = 'baselines' | 'generate' | 'score' | 'control' | 'pairs' | 'refine' | 'finalize' | 'transfer';

export type LoopEvent =
  | { type: 'phase'; iteration: number; phase: LoopPhase; total?: number }
  | { type: 'scored'; iteration: number; record: ScoredRecord; done: number; total: number }
  | { type: 'committed'; message: string };

export interface LoopDeps {
  /** Needed for scoring; reading a run's status needs none. */
  backend?: Backend;
  python: string;
  /** resources/algorithms of this installation. */
  algorithmsDir: string;
  executionProvider?: string;
  threads?: number;
  signal?: AbortSignal;
  onEvent?: (e: LoopEvent) => void;
  log?: (line: string) => void;
}

export interface RunHeader {
  id: string;
  name: string;
  createdAt: string;
  selfdevVersion: string;
  configFile: string;
  config: RunConfig;
}

const COMMIT_EVERY = 20;
const BASELINES = 'baselines/results.jsonl';

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
    return new RunLoop(run, header, deps);
  }

  get config(): RunConfig {
    return this.header.config;
  }

  private get backend(): Backend {
    if (!this.deps.backend) throw new Error('no backend: this operation scores models');
    return this.deps.backend;
  }

  private emit(e: LoopEvent): void {
    this.deps.onEvent?.(e);
  }

  private checkCancelled(): void {
    if (this.deps.signal?.aborted) throw new LoopCancelled();
  }

  private async commit(message: string): Promise<void> {
    if (await this.run.commit(message)) this.emit({ type: 'committed', message });
  }

  /** Records of a JSONL file; a line cut short by a crash is dropped and the file repaired. */
  async records<T>(rel: string): Promise<T[]> {
    let truncated = false;
    const out = parseJsonl<T>(await this.run.read(rel), this.run.path(rel), () => (truncated = true));
    if (truncated) {
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

  async vetoes(): Promise<Set<string>> {
    const text = await this.run.read('vetoes.json');
    return new Set(text ? (JSON.parse(text) as string[]) : []);
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

    // 2. Score on dev.
    this.emit({ type: 'phase', iteration: t, phase: 'score', total: samples.length });
    const jobs = await Promise.all(
      samples.map(async (s) => ({
        id: s.id,
        file: `${dir}/algorithms/${s.id}.py`,
        source: (await this.run.read(`${dir}/algorithms/${s.id}.py`))!,
        extra: { factoryVersion: factory.version, temperature, summary: s.summary, kind: 'generated' as const },
      })),
    );
    await this.scoreAll(t, `${dir}/results.jsonl`, jobs);

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
      await this.scoreAll(t, BASELINES, controlJobs);
    }

    // 4. Preference pairs over everything generated so far (elitism), vetoes left out.
    this.emit({ type: 'phase', iteration: t, phase: 'pairs' });
    const vetoes = await this.vetoes();
    const all: ScoredRecord[] = [];
    for (let i = 1; i <= t; i++) all.push(...(await this.records<ScoredRecord>(`${iterationDir(i)}/results.jsonl`)));
    const scored = all.map((r) => ({ id: `${r.iteration}/${r.id}`, score: r.status === 'ok' ? r.score : undefined, iteration: r.iteration, vetoed: vetoes.has(`${r.iteration}/${r.id}`) || vetoes.has(r.id) }));
    const pairs: PairRecord[] = selectPairs(scored, t, this.config.pairs);
    await this.run.write(`${dir}/pairs.jsonl`, pairs.map((p) => JSON.stringify(p)).join('\n') + (pairs.length ? '\n' : ''));

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
    await this.scoreAll(0, BASELINES, [
      { id: 'seed', extra: { kind: 'seed' as const } },
      ...variants.map((v) => ({ id: v.id, source: v.source, constants: v.constants, extra: { kind: 'baseline' as const, summary: v.method } })),
    ]);
  }

  private baseParams(candidates = this.config.candidates, split: 'dev' | 'test' = 'dev'): Omit<ScoreParams, 'jobId' | 'algorithm'> {
    const c = this.config;
    return {
      models: { seed: c.seed, candidates, mergeScope: c.mergeScope, tensorLibrary: c.tensorLibrary },
      benchmarks: Object.entries(c.benchmarks).map(([name, b]) => {
        const file = split === 'dev' ? b.dev : b.test;
        if (!file) throw new Error(`run ${this.header.id}: benchmark ${name} has no ${split} split`);
        return { name, file, kind: b.answer, fewshot: b.fewshot, limit: split === 'dev' ? b.devSize : undefined };
      }),
      settings: { format: { prompt: c.eval.prompt, exemplar: c.eval.exemplar, shots: c.eval.shots }, maxNewTokens: c.eval.maxNewTokens, stop: c.eval.stop, bos: c.eval.bos },
      limits: c.limits,
      randomSeed: c.randomSeed,
      python: this.deps.python,
      executionProvider: this.deps.executionProvider,
      threads: this.deps.threads,
    };
  }

  /** Scores the jobs that `file` has no record of yet; identical code reuses a result. */
  private async scoreAll(
    iteration: number,
    file: string,
    jobs: { id: string; file?: string; source?: string; constants?: Record<string, number | string | boolean | null>; extra: Partial<ScoredRecord> & Pick<ScoredRecord, 'kind'> }[],
  ): Promise<ScoredRecord[]> {
    const done = new Map((await this.records<ScoredRecord>(file)).map((r) => [r.id, r]));
    const byHash = await this.knownResults();
    const todo = jobs.filter((j) => !done.has(j.id));
    let finished = jobs.length - todo.length;
    let sinceCommit = 0;
    const base = this.baseParams();
    const runOne = async (job: (typeof todo)[number]): Promise<void> => {
      this.checkCancelled();
      const hash = job.source === undefined ? 'seed' : codeHash(normaliseCode(job.source) + JSON.stringify(job.constants ?? {}));
      const known = byHash.get(hash);
      let record: ScoredRecord;
      if (known) {
        record = { ...known, id: job.id, file: job.file, iteration, codeHash: hash, reusedFrom: `${known.iteration}/${known.id}`, ...job.extra, timings: { total: 0 } };
      } else {
        const result = await this.backend.score(
          { ...base, jobId: `${this.header.id}/dev/${hash}`, algorithm: job.source === undefined ? undefined : { source: job.source, constants: job.constants } },
          { signal: this.deps.signal },
        );
        record = this.toRecord(job.id, iteration, result, hash, job.file, job.extra);
        byHash.set(hash, record);
      }
      await this.run.appendLine(file, JSON.stringify(record));
      done.set(job.id, record);
      this.emit({ type: 'scored', iteration, record, done: ++finished, total: jobs.length });
      if (++sinceCommit >= COMMIT_EVERY) {
        sinceCommit = 0;
        await this.commit(`${iteration ? `iteration ${iteration}` : 'baselines'}: scored ${finished}/${jobs.length}`);
      }
    };
    await pool(todo, this.config.concurrency, runOne);
    await this.commit(`${iteration ? `iteration ${iteration}` : 'baselines'}: scored ${jobs.length} ${file.startsWith('baselines') ? 'baselines and controls' : 'algorithms'}`);
    return jobs.map((j) => done.get(j.id)!);
  }

  private async knownResults(): Promise<Map<string, ScoredRecord>> {
    const map = new Map<string, ScoredRecord>();
    const files = [BASELINES];
    for (let t = 1; ; t++) {
      if (!(await this.run.read(`${iterationDir(t)}/samples.jsonl`))) break;
      files.push(`${iterationDir(t)}/results.jsonl`);
    }
    for (const f of files) for (const r of await this.records<ScoredRecord>(f)) if (r.codeHash && !r.reusedFrom && !map.has(r.codeHash)) map.set(r.codeHash, r);
    return map;
  }

  private toRecord(id: string, iteration: number, r: ScoreResult, hash: string, file: string | undefined, extra: Partial<ScoredRecord> & Pick<ScoredRecord, 'kind'>): ScoredRecord {
    const base = { id, iteration, file, codeHash: hash, timings: r.timings, ...extra };
    if (r.status !== 'ok' || !r.scores) return { ...base, status: 'failed', errorClass: r.errorClass ?? 'exception', message: r.message, detail: r.detail };
    return {
      ...base,
      status: 'ok',
      score: meanScore(r.scores.map((s) => s.accuracy)),
      interval: stratifiedInterval(r.scores.map((s) => s.items), 1000, this.config.randomSeed),
      scores: Object.fromEntries(r.scores.map((s) => [s.name, s.accuracy])),
      items: Object.fromEntries(r.scores.map((s) => [s.name, s.items.map((x) => (x ? '1' : '0')).join('')])),
    };
  }

  /** summary.json: the figures per iteration, baselines, control, finalists. */
  async writeSummary(): Promise<RunSummary> {
    const summary = await this.summarise();
    await this.run.write('summary.json', JSON.stringify(summary, null, 1) + '\n');
    return summary;
  }

  async summarise(): Promise<RunSummary> {
    const base = await this.records<ScoredRecord>(BASELINES);
    const best = (rs: ScoredRecord[]) => rs.filter((r) => r.status === 'ok').sort((a, b) => b.score! - a.score! || a.id.localeCompare(b.id))[0];
    const brief = (r: ScoredRecord | undefined) => r && { id: r.id, score: r.score!, interval: r.interval!, scores: r.scores! };
    const iterations = [];
    const vetoes = await this.vetoes();
    for (let t = 1; await this.run.read(`${iterationDir(t)}/samples.jsonl`); t++) {
      const rs = (await this.records<ScoredRecord>(`${iterationDir(t)}/results.jsonl`)).filter((r) => !vetoes.has(`${t}/${r.id}`) && !vetoes.has(r.id));
      const ok = rs.filter((r) => r.status === 'ok');
      const factory = await this.run.read(`${iterationDir(t)}/factory.json`);
      iterations.push({
        iteration: t,
        temperature: temperatureAt(this.config.temperature, t),
        algorithms: rs.length,
        ok: ok.length,
        failed: rs.length - ok.length,
        meanScore: ok.length ? meanScore(ok.map((r) => r.score!)) : null,
        best: brief(best(rs)) ?? null,
        complete: Boolean(factory),
      });
    }
    const controls = base.filter((r) => r.kind === 'control');
    const okControls = controls.filter((r) => r.status === 'ok');
    const final = await this.records<ScoredRecord>('finalize/results.jsonl');
    const references = await this.records<ScoredRecord>('finalize/references.jsonl');
    const sealed = (r: ScoredRecord): SealedEntry => ({ id: r.id, dev: r.summary ?? null, test: r.score ?? null, interval: r.interval ?? null, status: r.status });
    return {
      run: this.header.id,
      seed: brief(base.find((r) => r.id === 'seed')) ?? null,
      bestBaseline: brief(best(base.filter((r) => r.kind === 'baseline'))) ?? null,
      control: { algorithms: controls.length, ok: okControls.length, best: brief(best(controls)) ?? null, meanScore: okControls.length ? meanScore(okControls.map((r) => r.score!)) : null },
      iterations,
      sealedTest: final.length
        ? {
            evaluations: final.length + references.length,
            finalists: final.map(sealed),
            references: references.map(sealed),
          }
        : null,
    };
  }

  /** Scores the top finalists by dev on the sealed test split, once per run. */
  async finalize(): Promise<RunSummary> {
    if ((await this.records<ScoredRecord>('finalize/results.jsonl')).length && (await this.run.read('finalize/sealed.json'))) {
      throw new Error(`run ${this.header.id} was already finalized: the test split is scored only once (see finalize/results.jsonl)`);
    }
    const vetoes = await this.vetoes();
    const all: ScoredRecord[] = [];
    for (let t = 1; await this.run.read(`${iterationDir(t)}/samples.jsonl`); t++) all.push(...(await this.records<ScoredRecord>(`${iterationDir(t)}/results.jsonl`)));
    const seen = new Set<string>();
    const finalists = all
      .filter((r) => r.status === 'ok' && !r.reusedFrom && !vetoes.has(`${r.iteration}/${r.id}`))
      .sort((a, b) => b.score! - a.score! || a.iteration - b.iteration || a.id.localeCompare(b.id))
      .filter((r) => !seen.has(r.codeHash!) && seen.add(r.codeHash!))
      .slice(0, this.config.finalists);
    if (!finalists.length) throw new Error(`run ${this.header.id} has no successfully scored algorithm to finalize`);
    this.emit({ type: 'phase', iteration: 0, phase: 'finalize', total: finalists.length });
    const base = this.baseParams(this.config.candidates, 'test');
    for (const [i, f] of finalists.entries()) {
      this.checkCancelled();
      const id = `${f.iteration}/${f.id}`;
      if ((await this.records<ScoredRecord>('finalize/results.jsonl')).some((r) => r.id === id)) continue;
      const result = await this.backend.score({ ...base, jobId: `${this.header.id}/test/${f.codeHash}`, algorithm: { source: (await this.run.read(f.file!))! } }, { signal: this.deps.signal });
      const record = this.toRecord(id, f.iteration, result, f.codeHash!, f.file, { kind: 'generated', summary: `dev ${fmt(f.score)}` });
      await this.run.appendLine('finalize/results.jsonl', JSON.stringify(record));
      this.emit({ type: 'scored', iteration: 0, record, done: i + 1, total: finalists.length });
    }
    // Reference points on the same sealed split: the seed and the best tuned baseline by dev.
    const baselines = await this.records<ScoredRecord>(BASELINES);
    const bestBaseline = baselines.filter((r) => r.kind === 'baseline' && r.status === 'ok').sort((a, b) => b.score! - a.score! || a.id.localeCompare(b.id))[0];
    const references = [baselines.find((r) => r.id === 'seed'), bestBaseline].filter((r): r is ScoredRecord => Boolean(r));
    const variants = await baselineVariants(this.deps.algorithmsDir);
    for (const ref of references) {
      if ((await this.records<ScoredRecord>('finalize/references.jsonl')).some((r) => r.id === ref.id)) continue;
      const variant = variants.find((v) => v.id === ref.id);
      const result = await this.backend.score(
        { ...base, jobId: `${this.header.id}/test/${ref.codeHash}`, algorithm: variant && { source: variant.source, constants: variant.constants } },
        { signal: this.deps.signal },
      );
      await this.run.appendLine('finalize/references.jsonl', JSON.stringify(this.toRecord(ref.id, 0, result, ref.codeHash ?? 'seed', ref.file, { kind: ref.kind, summary: `dev ${fmt(ref.score)}` })));
    }
    const testEvaluations = finalists.length + references.length;
    await this.run.write('finalize/sealed.json', JSON.stringify({ finalizedAt: new Date().toISOString(), testEvaluations, finalists: finalists.length, references: references.map((r) => r.id) }, null, 1) + '\n');
    const summary = await this.writeSummary();
    await this.commit(`finalize: ${finalists.length} finalists and ${references.length} references scored once on the sealed test split`);
    await this.run.tag('finalized', 'sealed test split scored');
    return summary;
  }

  /** Scores algorithms (ids like 2/a0007) with another candidate set, without re-tuning. */
  async transfer(ids: string[], set: string): Promise<ScoredRecord[]> {
    const candidates = this.config.transfer[set];
    if (!candidates) throw new Error(`run ${this.header.id} has no transfer set "${set}" (it has: ${Object.keys(this.config.transfer).join(', ') || 'none'})`);
    const base = this.baseParams(candidates, 'dev');
    const out: ScoredRecord[] = [];
    this.emit({ type: 'phase', iteration: 0, phase: 'transfer', total: ids.length });
    for (const id of ids) {
      this.checkCancelled();
      const [t, aid] = id.includes('/') ? id.split('/') : [undefined, id];
      const file = t ? `${iterationDir(Number(t))}/algorithms/${aid}.py` : undefined;
      const source = file ? await this.run.read(file) : undefined;
      if (!source) throw new Error(`run ${this.header.id} has no algorithm ${id} (use iteration/id, e.g. 1/a0003)`);
      const hash = codeHash(normaliseCode(source));
      const result = await this.backend.score({ ...base, jobId: `${this.header.id}/transfer/${set}/${hash}`, algorithm: { source } }, { signal: this.deps.signal });
      const record = this.toRecord(id, Number(t), result, hash, file, { kind: 'generated' });
      await this.run.appendLine(`transfer/${set}.jsonl`, JSON.stringify(record));
      out.push(record);
    }
    await this.commit(`transfer: ${ids.length} algorithm(s) to candidate set "${set}"`);
    return out;
  }
}

export interface RunSummary {
  run: string;
  seed: BriefRecord | null;
  bestBaseline: BriefRecord | null;
  control: { algorithms: number; ok: number; best: BriefRecord | null; meanScore: number | null };
  iterations: {
    iteration: number;
    temperature: number;
    algorithms: number;
    ok: number;
    failed: number;
    meanScore: number | null;
    best: BriefRecord | null;
    complete: boolean;
  }[];
  sealedTest: { evaluations: number; finalists: SealedEntry[]; references: SealedEntry[] } | null;
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

function fmt(x: number | undefined): string {
  return x === undefined ? '-' : x.toFixed(3);
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(size, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

export function runHeader(id: string, config: RunConfig, configFile: string, version: string): RunHeader {
  return { id, name: config.name, createdAt: new Date().toISOString(), selfdevVersion: version, configFile: path.resolve(configFile), config };
}
