// Scoring a model on benchmarks: k-shot prompts, batched greedy generation, answer checking,
// accuracy with a bootstrap interval. Used by the backend and `selfdev eval`.
import {
  buildPrompt,
  loadBenchmark,
  scoreCompletions,
  type AnswerExtraction,
  type AnswerKind,
  type BenchmarkItem,
  type PromptFormat,
  type ScoreReport,
} from './eval';
import { generate } from './inference/generate';
import { createDecoderSession, type DecoderSession, type SessionConfig } from './inference/session';
import { openHfModel } from './model/hfModel';
import type { TensorInfo } from './model/safetensors';
import { loadTokenizer, type TextTokenizer } from './model/tokenizer';

export interface BenchmarkSpec {
  /** A short name for reports, e.g. "gsm". */
  name: string;
  file: string;
  kind?: AnswerKind;
  /** Exemplars for k-shot prompts. */
  fewshot?: string;
  limit?: number;
}

export interface EvalSettings {
  format: PromptFormat;
  maxNewTokens: number;
  stop: string[];
  /** Put the model's BOS token first when the tokenizer does not. */
  bos?: boolean;
  batchSize?: number;
  extraction?: AnswerExtraction;
  resamples?: number;
  seed?: number;
}

export interface BenchmarkResult extends ScoreReport {
  name: string;
  file: string;
  generatedTokens: number;
  generationSeconds: number;
}

export interface LoadedModel {
  session: DecoderSession;
  tokenizer: TextTokenizer;
}

/** Opens a model folder (optionally with a merged overlay of its merge scope) for scoring. */
export async function loadModelForEval(folder: string, config: SessionConfig = {}, overlay?: Map<string, TensorInfo>): Promise<LoadedModel> {
  const model = await openHfModel(folder);
  const tokenizer = await loadTokenizer(model.folder, model.config.vocabSize);
  const session = await createDecoderSession(model, config, overlay);
  return { session, tokenizer };
}

export async function evaluateBenchmarks(
  { session, tokenizer }: LoadedModel,
  benchmarks: BenchmarkSpec[],
  settings: EvalSettings,
  opts: { signal?: AbortSignal; onProgress?: (benchmark: string, done: number, total: number) => void } = {},
): Promise<BenchmarkResult[]> {
  const results: BenchmarkResult[] = [];
  const bos = session.model.config.bosTokenId;
  for (const spec of benchmarks) {
    const items = await loadBenchmark(spec.file, spec.kind, { limit: spec.limit });
    const exemplars: BenchmarkItem[] = settings.format.shots > 0 && spec.fewshot ? await loadBenchmark(spec.fewshot, spec.kind) : [];
    const prompts = items.map((item) => buildPrompt(item, exemplars, settings.format));
    const ids = prompts.map((p) => {
      const encoded = tokenizer.encode(p);
      return settings.bos && bos !== undefined && encoded[0] !== bos ? [bos, ...encoded] : encoded;
    });
    const { outputs, stats } = await generate(session, tokenizer, ids, {
      maxNewTokens: settings.maxNewTokens,
      stop: settings.stop,
      batchSize: settings.batchSize,
      signal: opts.signal,
      onProgress: (done, total) => opts.onProgress?.(spec.name, done, total),
    });
    const report = scoreCompletions(
      items,
      prompts,
      outputs.map((o) => o.text),
      { extraction: settings.extraction, resamples: settings.resamples, seed: settings.seed },
    );
    results.push({ ...report, name: spec.name, file: spec.file, generatedTokens: stats.generatedTokens, generationSeconds: stats.seconds });
  }
  return results;
}
