// selfdev eval: scores one model on benchmark files or on a run config's benchmarks.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { benchmarkJobs, readRunConfig, scoreSettings, type Split } from '../core/config/runConfig';
import { evaluateBenchmarks, loadModelForEval, type BenchmarkSpec, type EvalSettings } from '../engine/evaluate';
import type { ExecutionProvider } from '../engine/inference/session';
import { EXIT, UsageError, type Io } from './io';

export const EVAL_USAGE = `usage: selfdev eval --benchmark <file.jsonl|file.parquet|run config.json> [--model <folder>]
                    [--split dev|test] [--limit N] [--shots K] [--fewshot <file>]
                    [--max-new-tokens N] [--batch-size N] [--provider cpu|cuda|dml|coreml] [--threads N]
                    [--gsm-answer strict|flexible] [--json]
A run config brings its benchmarks, prompt format, GSM answer mode and seed model (the default
--model). --gsm-answer: strict reads a GSM8k answer only after ####; flexible also after
"The answer is", else the last number (default: the config's, else strict).`;

function whole(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} expects a whole number, got "${v}"`);
  return n;
}

export async function evalCommand(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        benchmark: { type: 'string' },
        split: { type: 'string', default: 'dev' },
        limit: { type: 'string' },
        shots: { type: 'string' },
        fewshot: { type: 'string' },
        'max-new-tokens': { type: 'string' },
        'batch-size': { type: 'string' },
        provider: { type: 'string', default: 'cpu' },
        threads: { type: 'string' },
        'gsm-answer': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    io.err(`selfdev eval: ${(err as Error).message}\n${EVAL_USAGE}`);
    return EXIT.usage;
  }
  try {
    if (!values.benchmark) throw new UsageError('--benchmark is required');
    if (values.split !== 'dev' && values.split !== 'test') throw new UsageError('--split is dev or test');
    const gsmAnswer = values['gsm-answer'];
    if (gsmAnswer !== undefined && gsmAnswer !== 'strict' && gsmAnswer !== 'flexible') throw new UsageError('--gsm-answer is strict or flexible');
    const limit = whole('limit', values.limit);
    const shots = whole('shots', values.shots);
    let model = values.model;
    let specs: BenchmarkSpec[];
    let settings: EvalSettings;
    if (/\.json$/i.test(values.benchmark)) {
      const config = await readRunConfig(values.benchmark);
      model ??= config.seed;
      specs = benchmarkJobs(config, values.split as Split).map((s) => ({ ...s, limit: limit ?? s.limit }));
      const base = scoreSettings(config);
      settings = { ...base, format: { ...base.format, shots: shots ?? base.format.shots } };
    } else {
      if (!model) throw new UsageError('--model is required with a benchmark file');
      if (shots && !values.fewshot) throw new UsageError('--shots needs --fewshot <file> with the exemplars');
      specs = [{ name: path.basename(values.benchmark).replace(/\.(jsonl|parquet)$/i, ''), file: path.resolve(values.benchmark), fewshot: values.fewshot && path.resolve(values.fewshot), limit }];
      settings = {
        format: { prompt: 'Question: {question}\nAnswer:', exemplar: 'Question: {question}\nAnswer: {solution}\n\n', shots: shots ?? 0 },
        maxNewTokens: 256,
        stop: ['\n\n'],
        bos: true,
      };
    }
    settings.extraction = gsmAnswer ?? settings.extraction ?? 'strict';
    settings.maxNewTokens = whole('max-new-tokens', values['max-new-tokens']) ?? settings.maxNewTokens;
    settings.batchSize = whole('batch-size', values['batch-size']) ?? 32;

    const loaded = await loadModelForEval(model, {
      executionProvider: values.provider as ExecutionProvider,
      threads: whole('threads', values.threads),
      maxContext: 4096,
    });
    if (loaded.session.fallback) io.err(`selfdev eval: ${loaded.session.fallback}`);
    const results = await evaluateBenchmarks(loaded, specs, settings, {
      signal,
      onProgress: (name, done, total) => io.progress?.(`${name}: ${done}/${total}`),
    });
    io.progress?.('');
    await loaded.session.release();
    if (values.json) {
      io.out(JSON.stringify({ model: path.resolve(model), split: values.split, provider: loaded.session.provider, gsmAnswer: settings.extraction, settings, results }, null, 2));
    } else {
      for (const r of results) {
        const pct = (x: number) => (100 * x).toFixed(1);
        io.out(
          `${r.name.padEnd(8)} ${values.split}  ${String(r.n).padStart(5)} items  accuracy ${pct(r.accuracy)}%  95% CI [${pct(r.interval.low)}, ${pct(r.interval.high)}]  (${r.generatedTokens} tokens in ${r.generationSeconds.toFixed(1)} s; GSM answers ${settings.extraction})`,
        );
      }
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`selfdev eval: ${err.message}\n${EVAL_USAGE}`);
      return EXIT.usage;
    }
    if (signal?.aborted) {
      io.err('selfdev eval: cancelled');
      return EXIT.cancelled;
    }
    io.err(`selfdev eval: ${(err as Error).message}`);
    return EXIT.failure;
  }
}
