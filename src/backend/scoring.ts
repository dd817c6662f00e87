// One scoring job: apply the algorithm with the sandboxed runner (unless it scores the seed),
// open the merged model as the seed plus an overlay, and score it on the benchmarks.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluateBenchmarks, loadModelForEval, type LoadedModel } from '../engine/evaluate';
import { createDecoderSession, type ExecutionProvider } from '../engine/inference/session';
import { readSafetensorsHeader, type TensorInfo } from '../engine/model/safetensors';
import { applyAlgorithm, WarmRunners } from '../engine/runner';
import { interpreterExecutable } from '../engine/pythonProbe';
import type { ProgressParams, ScoreParams, ScoreResult } from '../protocol/backend';
import { sha256File } from './fileHash';

/** Seed models stay open between jobs: most jobs of a run share one seed. */
const seeds = new Map<string, Promise<LoadedModel>>();

function seedModel(p: ScoreParams): Promise<LoadedModel> {
  const key = JSON.stringify([p.models.seed, p.executionProvider, p.threads]);
  let loaded = seeds.get(key);
  if (!loaded) {
    loaded = loadModelForEval(p.models.seed, { executionProvider: p.executionProvider as ExecutionProvider, threads: p.threads, maxContext: 4096 });
    loaded.catch(() => seeds.delete(key));
    seeds.set(key, loaded);
  }
  return loaded;
}

/** A job the runner refused because the machine has no kernel isolation (and the user did not
 * opt out): the loop stops with the reason and the fix instead of recording a failure. */
export class IsolationUnavailableError extends Error {
  override name = 'IsolationUnavailableError';
}

/** The backend keeps its runners' supervisors warm (SELFDEV_WARM_RUNNER=0: a fresh one per job,
 * as before; the benchmarks compare the two). */
const warmRunners = process.env.SELFDEV_WARM_RUNNER === '0' ? undefined : new WarmRunners();

/** The merged scope of one algorithm, applied by the sandboxed runner in a scratch folder the
 * caller removes: either the merged file, checked to be the bytes the runner validated, or the
 * failure as the runner classed it. */
export type AppliedMerge =
  | { ok: true; overlay: Map<string, TensorInfo>; mergedFile: string; deltaStats?: Record<string, number | null>; isolation?: 'kernel' | 'unisolated' }
  | { ok: false; failure: Pick<ScoreResult, 'errorClass' | 'message' | 'detail' | 'traceback'>; isolation?: 'kernel' | 'unisolated' };

type ApplyParams = Pick<ScoreParams, 'models' | 'limits' | 'randomSeed' | 'python' | 'allowUnisolated'> & { algorithm: NonNullable<ScoreParams['algorithm']> };

export async function applyMerge(p: ApplyParams, scratch: string, signal: AbortSignal): Promise<AppliedMerge> {
  const applied = await (warmRunners ? warmRunners.apply.bind(warmRunners) : applyAlgorithm)(
    {
      seedModel: p.models.seed,
      candidates: p.models.candidates,
      source: p.algorithm.source,
      constants: p.algorithm.constants,
      mergeScope: p.models.mergeScope,
      tensorLibrary: p.models.tensorLibrary,
      scratch,
      randomSeed: p.randomSeed,
      limits: { wallSeconds: p.limits.timeoutSeconds, cpuSeconds: p.limits.timeoutSeconds, memoryMB: p.limits.memoryMB },
      allowUnisolated: p.allowUnisolated,
    },
    { python: await interpreterExecutable(p.python), signal },
  );
  if (applied.status === 'failed' && applied.isolationRefused) throw new IsolationUnavailableError(applied.detail ?? 'kernel isolation is not available');
  const isolation = applied.isolation === 'kernel' || applied.isolation === 'unisolated' ? applied.isolation : undefined;
  if (applied.status !== 'ok' || !applied.mergedFile) {
    return { ok: false, isolation, failure: { errorClass: applied.errorClass, message: applied.message, detail: applied.detail, traceback: applied.traceback } };
  }
  // Use exactly the bytes the runner validated.
  if (!applied.mergedSha256 || (await sha256File(applied.mergedFile)) !== applied.mergedSha256) {
    throw new Error(`the merged model ${applied.mergedFile} is not the one the runner validated (its SHA-256 differs); not used`);
  }
  return { ok: true, isolation, mergedFile: applied.mergedFile, overlay: await readSafetensorsHeader(applied.mergedFile), deltaStats: applied.deltaStats as unknown as Record<string, number | null> | undefined };
}

export async function runScoreJob(p: ScoreParams, signal: AbortSignal, progress: (p: ProgressParams) => void): Promise<ScoreResult> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  const seed = await seedModel(p);
  let model = seed;
  let scratch: string | undefined;
  let deltaStats: ScoreResult['deltaStats'];
  let isolation: ScoreResult['isolation'];
  try {
    if (p.algorithm) {
      progress({ jobId: p.jobId, phase: 'apply', done: 0, total: 1 });
      scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'selfdev-job-'));
      const applied = await applyMerge({ ...p, algorithm: p.algorithm }, scratch, signal);
      timings.apply = (performance.now() - started) / 1000;
      isolation = applied.isolation;
      if (!applied.ok) {
        return { isolation, jobId: p.jobId, status: 'failed', ...applied.failure, timings: { ...timings, total: (performance.now() - started) / 1000 } };
      }
      deltaStats = applied.deltaStats;
      const session = await createDecoderSession(seed.session.model, { executionProvider: p.executionProvider as ExecutionProvider, threads: p.threads, maxContext: 4096 }, applied.overlay);
      model = { session, tokenizer: seed.tokenizer };
    }
    const evalStart = performance.now();
    const results = await evaluateBenchmarks(model, p.benchmarks, { ...p.settings, batchSize: p.settings.batchSize ?? 32 }, {
      signal,
      onProgress: (benchmark, done, total) => progress({ jobId: p.jobId, phase: 'evaluate', benchmark, done, total }),
    });
    timings.evaluate = (performance.now() - evalStart) / 1000;
    timings.total = (performance.now() - started) / 1000;
    return {
      jobId: p.jobId,
      status: 'ok',
      scores: results.map((r) => ({ name: r.name, n: r.n, correct: r.correct, accuracy: r.accuracy, items: r.records.map((x) => x.correct) })),
      timings,
      deltaStats,
      isolation,
      provider: model.session.provider,
      ...(model.session.fallback ? { fallback: model.session.fallback } : {}),
    };
  } finally {
    if (model !== seed) await model.session.release();
    if (scratch) await fs.rm(scratch, { recursive: true, force: true });
  }
}
