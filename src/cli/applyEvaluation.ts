// The evaluation that `selfdev apply` plugs in: the merged scope overlaid on the seed, scored on
// the run config's dev benchmarks (or the --benchmark files, with the config's prompt format).
import * as path from 'node:path';
import { benchmarkJobs, readRunConfig, scoreSettings } from '../core/config/runConfig';
import { evaluateBenchmarks, loadModelForEval } from '../engine/evaluate';
import { pct } from '../core/format';
import { readSafetensorsHeader } from '../engine/model/safetensors';
import type { EvaluateRequest, EvaluateResult } from './applyCommand';

export async function evaluateMerged(req: EvaluateRequest): Promise<EvaluateResult> {
  const config = await readRunConfig(req.configPath);
  const benchmarks = req.benchmarks.length
    ? req.benchmarks.map((file) => ({ name: path.basename(file).replace(/\.(jsonl|parquet)$/i, ''), file: path.resolve(file) }))
    : benchmarkJobs(config, 'dev');
  const overlay = await readSafetensorsHeader(req.mergedFile);
  const model = await loadModelForEval(req.seedModel, { maxContext: 4096 }, overlay);
  try {
    const results = await evaluateBenchmarks(model, benchmarks, { ...scoreSettings(config), batchSize: 32 });
    return {
      scores: Object.fromEntries(results.map((r) => [r.name, r.accuracy])),
      detail: results.map((r) => `${r.name} ${pct(r.accuracy)} [${pct(r.interval.low)}, ${pct(r.interval.high)}] on ${r.n} dev items`).join('; '),
    };
  } finally {
    await model.session.release();
  }
}
