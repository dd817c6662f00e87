// The evaluation half of the engine: benchmarks, k-shot prompts, answer checking, scores with
// bootstrap intervals. Pure Node (no vscode), used by the backend and `selfdev eval`.
export { loadBenchmark } from './benchmark';
export { BenchmarkError, type BenchmarkLocation } from './benchmarkError';
export { bootstrapInterval, DEFAULT_RESAMPLES, type BootstrapOptions } from '../../stats';
export { extractBoxed } from './boxed';
export { checkAnswer, extractAnswer, type CheckOptions } from './check';
export { extractGsmAnswer } from './gsmAnswer';
export { normalizeMathAnswer } from './mathAnswer';
export { buildPrompt, type PromptFormat } from './prompt';
export { seededRandom } from '../../stats';
export { scoreCompletions, type ScoreOptions } from './score';
export { sampleSubset, type SubsetOptions } from './subset';
export {
  DEFAULT_EXTRACTION,
  type AnswerExtraction,
  type AnswerKind,
  type BenchmarkItem,
  type Interval,
  type ItemRecord,
  type ScoreReport,
} from './types';
