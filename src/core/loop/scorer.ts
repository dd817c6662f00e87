// Scoring through the backend, and the records it produces: a batch that resumes where it
// stopped (results already recorded are not scored again, identical code reuses a result), one
// job scored now for an edit or a re-evaluation, and the sealed-test and transfer jobs.
import type { Backend, LauncherSpec, ScoreParams, ScoreResult, WorkerPoolStatus } from '../../protocol/backend';
import { stratifiedInterval, meanScore } from '../../stats';
import { benchmarkJobs, launcherInForce, scoreSettings, type Split } from '../config/runConfig';
import { normaliseCode } from '../factory';
import { BASELINES_FILE, WORKERS_STATE_FILE, resultsFile } from '../run/layout';
import { codeHash, latestById, type ScoredRecord } from '../run/records';
import type { RunContext } from './context';

/** Results are committed every this many, so an interruption loses little of git's record. */
const COMMIT_EVERY = 20;

export interface ScoreJob {
  id: string;
  file?: string;
  /** Absent: score a model as it is (the seed, or `model`). */
  source?: string;
  /** With no source: the model folder to score instead of the seed (a candidate as reference). */
  model?: string;
  constants?: Record<string, number | string | boolean | null>;
  extra: Partial<ScoredRecord> & Pick<ScoredRecord, 'kind'>;
  /** Already failed before scoring (an LLM completion with no code): recorded as is. */
  failure?: { errorClass: string; message: string; detail?: string };
}

/** Scoring with models other than the run's own (transfer): the shared job parameters, a job-id
 * prefix of their own (the backend's journal answers by id), and a label for commits. */
export interface OtherModels {
  base: Omit<ScoreParams, 'jobId' | 'algorithm'>;
  jobPrefix: string;
  label: string;
}

/** What scoring needs besides the run: the backend and how the runner is to be started. */
export interface ScoringDeps {
  backend?: Backend;
  python?: string;
  /** Run generated code without kernel isolation on a machine that has none (opt-in). */
  allowUnisolated?: boolean;
  executionProvider?: string;
  threads?: number;
  log?: (line: string) => void;
  /** The CLI's or the setting's launcher, over the config's ("local": none). */
  launcher?: LauncherSpec | 'local';
}

export const jobHash = (job: Pick<ScoreJob, 'source' | 'constants' | 'model'>) =>
  job.source !== undefined ? codeHash(normaliseCode(job.source) + JSON.stringify(job.constants ?? {})) : job.model ? codeHash(`model:${job.model}`) : 'seed';

export class Scorer {
  /** Provider fallbacks already said (once per run and message). */
  private readonly fallbacks = new Set<string>();

  constructor(
    private readonly ctx: RunContext,
    private readonly deps: ScoringDeps,
  ) {}

  get backend(): Backend {
    if (!this.deps.backend) throw new Error('no backend: this operation scores models');
    return this.deps.backend;
  }

  private workersOpen = false;

  /** The launcher in force for this run, if any. */
  get launcher(): LauncherSpec | undefined {
    return launcherInForce(this.ctx.config, this.deps.launcher);
  }

  /** Starts the run's workers (once until released): score jobs then go to them. */
  async openWorkers(): Promise<void> {
    const spec = this.launcher;
    if (!spec || this.workersOpen) return;
    const s = await this.backend.openWorkers({ run: this.ctx.header.id, launcher: spec }, (status) => this.workersChanged(status));
    this.workersOpen = true;
    this.deps.log?.(`workers: ${spec.workers} ${spec.kind} worker(s) for this run${s.ids.length ? ` (${spec.kind} ${s.ids.join(', ')})` : ''}`);
    this.workersChanged(s);
  }

  /** Releases the run's workers (the scheduler cancels them: nothing is left queued). */
  async releaseWorkers(reason: string): Promise<void> {
    if (!this.workersOpen) return;
    this.workersOpen = false;
    try {
      const s = await this.backend.closeWorkers(this.ctx.header.id, reason);
      if (s) this.workersChanged(s);
    } catch (err) {
      this.deps.log?.(`workers: releasing them failed: ${(err as Error).message}`);
    }
  }

  private workersChanged(status: WorkerPoolStatus): void {
    this.ctx.emit({ type: 'workers', status });
    // For `selfdev status` and other windows: live state, never committed.
    void this.ctx.run.writePrivate(WORKERS_STATE_FILE, `${JSON.stringify({ ...status, at: new Date().toISOString() })}\n`).catch(() => undefined);
  }

  /** The parts of a scoring job every job of this run shares. */
  params(candidates = this.ctx.config.candidates, split: Split = 'dev'): Omit<ScoreParams, 'jobId' | 'algorithm'> {
    const c = this.ctx.config;
    if (!this.deps.python) throw new Error('no Python interpreter: this operation scores models');
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

  /** The record of one backend result. */
  toRecord(id: string, iteration: number, r: ScoreResult, hash: string, file: string | undefined, extra: Partial<ScoredRecord> & Pick<ScoredRecord, 'kind'>): ScoredRecord {
    const c = this.ctx.config;
    const base = { id, iteration, file, codeHash: hash, timings: r.timings, gsmAnswer: c.eval.gsmAnswer, ...(r.isolation ? { isolation: r.isolation } : {}), ...extra };
    if (r.status !== 'ok' || !r.scores) return { ...base, status: 'failed', errorClass: r.errorClass ?? 'exception', message: r.message, detail: r.detail };
    const { low, high } = stratifiedInterval(r.scores.map((s) => s.items), { seed: c.randomSeed });
    return {
      ...base,
      status: 'ok',
      ...(r.deltaStats ? { deltaStats: r.deltaStats } : {}),
      score: meanScore(r.scores.map((s) => s.accuracy)),
      interval: [low, high],
      scores: Object.fromEntries(r.scores.map((s) => [s.name, s.accuracy])),
      items: Object.fromEntries(r.scores.map((s) => [s.name, s.items.map((x) => (x ? '1' : '0')).join('')])),
    };
  }

  /** Scores one job on the backend under `jobId` (the backend's journal answers a known id). */
  async score(jobId: string, job: Pick<ScoreJob, 'source' | 'constants' | 'model'>, base = this.params()): Promise<ScoreResult> {
    const models = job.source === undefined && job.model ? { ...base.models, seed: job.model } : base.models;
    let r: ScoreResult;
    try {
      r = await this.backend.score({ ...base, models, jobId, algorithm: job.source === undefined ? undefined : { source: job.source, constants: job.constants } }, { signal: this.ctx.signal });
    } catch (err) {
      // A job that failed because the run was cancelled is the cancel, whatever the backend said.
      this.ctx.checkCancelled();
      throw err;
    }
    if (r.fallback && !this.fallbacks.has(r.fallback)) {
      this.fallbacks.add(r.fallback);
      this.deps.log?.(`backend: ${r.fallback}`);
    }
    return r;
  }

  private async evaluate(iteration: number, job: ScoreJob, hash: string, jobId: string, base = this.params()): Promise<ScoredRecord> {
    return this.toRecord(job.id, iteration, await this.score(jobId, job, base), hash, job.file, job.extra);
  }

  /** Code hash -> the result in force for that code (a later evaluation replaces an earlier one). */
  private async knownResults(): Promise<Map<string, ScoredRecord>> {
    const map = new Map<string, ScoredRecord>();
    const files = [BASELINES_FILE];
    const generated = await this.ctx.files.generatedIterations();
    for (let t = 1; t <= generated; t++) files.push(resultsFile(t));
    for (const f of files) for (const r of latestById(await this.ctx.files.records<ScoredRecord>(f))) if (r.codeHash && !r.reusedFrom) map.set(r.codeHash, r);
    return map;
  }

  /**
   * Scores the jobs that `file` has no record of yet, `concurrency` at a time, appending each
   * result as it arrives. `batch` is the whole batch for progress, when some of it (vetoed) is
   * not scored.
   */
  async scoreAll(iteration: number, file: string, jobs: ScoreJob[], batch = jobs.length, other?: OtherModels): Promise<ScoredRecord[]> {
    const ctx = this.ctx;
    const done = new Map((await ctx.files.records<ScoredRecord>(file)).map((r) => [r.id, r]));
    // With other candidates, nothing scored with the run's own may be reused.
    const byHash = other ? new Map<string, ScoredRecord>() : await this.knownResults();
    const todo = jobs.filter((j) => !done.has(j.id));
    let finished = batch - todo.length;
    let sinceCommit = 0;
    const base = other?.base ?? this.params();
    const jobPrefix = other?.jobPrefix ?? `${ctx.header.id}/dev`;
    const where = other?.label ?? (iteration ? `iteration ${iteration}` : 'baselines');
    // What is scored, in commit messages that cannot be mistaken for another phase's.
    const what = other ? 'models' : file === BASELINES_FILE ? (iteration ? 'control programs' : 'references (seed, candidates, baselines)') : 'algorithms';
    const runOne = async (job: ScoreJob): Promise<void> => {
      ctx.checkCancelled();
      const hash = jobHash(job);
      const known = byHash.get(hash);
      let record: ScoredRecord;
      if (job.failure) {
        record = { id: job.id, iteration, file: job.file, codeHash: hash, status: 'failed', ...job.failure, ...job.extra };
      } else if (known) {
        record = reuse(known, job, iteration, hash);
      } else {
        record = await this.evaluate(iteration, job, hash, `${jobPrefix}/${hash}`, base);
        byHash.set(hash, record);
      }
      await ctx.run.appendLine(file, JSON.stringify(record));
      done.set(job.id, record);
      ctx.emit({ type: 'scored', iteration, record, done: ++finished, total: batch });
      if (++sinceCommit >= COMMIT_EVERY) {
        sinceCommit = 0;
        await ctx.commit(`${where}: ${finished} of ${batch} ${what} scored so far`);
      }
    };
    // With workers, enough jobs are in flight for each to have one queued behind the one it runs.
    const spec = this.launcher;
    if (spec && todo.some((j) => !j.failure)) await this.openWorkers();
    await pool(todo, spec ? Math.max(ctx.config.concurrency, spec.workers * 2) : ctx.config.concurrency, runOne);
    await ctx.commit(`${where}: all ${jobs.length} ${what} scored`);
    return jobs.map((j) => done.get(j.id)!);
  }

  /**
   * Scores one job now (an edit or a re-evaluation); the caller writes the record. `fresh`
   * evaluates again even when this code has a result (in the run or the backend's journal), for
   * when something outside the code changed, such as the Python environment.
   */
  async scoreNow(iteration: number, job: ScoreJob, fresh: boolean): Promise<ScoredRecord> {
    const hash = jobHash(job);
    if (!fresh) {
      const known = (await this.knownResults()).get(hash);
      if (known) return reuse(known, job, iteration, hash);
    }
    return this.evaluate(iteration, job, hash, `${this.ctx.header.id}/dev/${hash}${fresh ? `/again-${Date.now().toString(36)}` : ''}`);
  }
}

function reuse(known: ScoredRecord, job: ScoreJob, iteration: number, hash: string): ScoredRecord {
  // Only the outcome carries over; what the record says about itself comes from the job.
  const { edited: _e, rescored: _r, ...outcome } = known;
  return { ...outcome, id: job.id, file: job.file, iteration, codeHash: hash, reusedFrom: `${known.iteration}/${known.id}`, ...job.extra, timings: { total: 0 } };
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(size, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}
