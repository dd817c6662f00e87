// The backend protocol: JSON-RPC 2.0 (vscode-jsonrpc) between the orchestrator (extension or
// CLI) and the backend process that merges and scores (a local child over stdio today; ssh and
// WebSocket transports later). Both sides import only this file for the contract.
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';

export const PROTOCOL_VERSION = 1;

export interface InitializeParams {
  protocolVersion: number;
  clientVersion: string;
  /** Where the backend journals finished jobs, so a dropped connection loses nothing. */
  journalDir?: string;
}

export interface InitializeResult {
  protocolVersion: number;
  backendVersion: string;
  node: string;
  platform: string;
  cpus: number;
  executionProviders: string[];
}

export interface ModelSet {
  seed: string;
  candidates: string[];
  mergeScope: string;
  tensorLibrary: 'numpy' | 'torch';
}

export interface BenchmarkJob {
  name: string;
  file: string;
  kind?: 'gsm8k' | 'boxed';
  fewshot?: string;
  limit?: number;
}

export interface ScoreSettings {
  format: { prompt: string; exemplar: string; shots: number };
  maxNewTokens: number;
  stop: string[];
  bos: boolean;
  batchSize?: number;
  /** How GSM8k answers are read: 'strict' (after ####, the default) or 'flexible'. */
  extraction?: 'strict' | 'flexible';
}

export interface ScoreParams {
  /** Stable id of the job; a job already journaled under this id is answered from the journal. */
  jobId: string;
  models: ModelSet;
  /** The algorithm to apply; absent: score the seed model itself. */
  algorithm?: { source: string; constants?: Record<string, number | string | boolean | null> };
  benchmarks: BenchmarkJob[];
  settings: ScoreSettings;
  limits: { timeoutSeconds: number; memoryMB: number };
  randomSeed: number;
  /** Python interpreter for the runner. */
  python: string;
  /** Run generated code without kernel isolation where the backend machine has none (the
   * user's explicit opt-in). Otherwise such a job is refused with the reason and the fix. */
  allowUnisolated?: boolean;
  executionProvider?: string;
  threads?: number;
}

export interface BenchmarkScore {
  name: string;
  n: number;
  correct: number;
  accuracy: number;
  /** Per item, in benchmark order: for intervals over several benchmarks. */
  items: boolean[];
}

export interface ScoreResult {
  jobId: string;
  status: 'ok' | 'failed';
  errorClass?: string;
  message?: string;
  detail?: string;
  traceback?: string;
  scores?: BenchmarkScore[];
  timings: Record<string, number>;
  deltaStats?: Record<string, number | null>;
  /** How the algorithm was contained: 'kernel' or 'unisolated' (absent when none ran). */
  isolation?: 'kernel' | 'unisolated';
  /** True when the answer came from the journal (the job had finished before). */
  fromJournal?: boolean;
}

export interface ProgressParams {
  jobId: string;
  phase: 'apply' | 'evaluate';
  benchmark?: string;
  done: number;
  total: number;
}

/** The LLM factory's generator: a local model folder run by the project's engine, or an
 * OpenAI-compatible server. */
export interface EngineGenerator {
  kind: 'engine';
  /** Model folder (Hugging Face format). */
  model: string;
  /** 'auto': use the model's chat template when it has one; 'never': send the prompt as plain text. */
  chat: 'auto' | 'never';
}

export interface OpenAiGenerator {
  kind: 'openai';
  /** e.g. http://127.0.0.1:8000/v1 */
  baseUrl: string;
  model: string;
  api: 'chat' | 'completions';
  /** Requests in flight at once. */
  concurrency: number;
  /** Completions asked for per request (`n`); servers that ignore `n` get one request per sample. */
  samplesPerRequest: number;
  timeoutSeconds: number;
  /** Retries of a request that failed with a network error, 408, 429 or 5xx, with backoff. */
  retries: number;
  /** Name of the environment variable of the backend process that holds the key (the key
   * itself never travels in a request, a log or a file). */
  apiKeyEnv?: string;
}

export type GeneratorSpec = EngineGenerator | OpenAiGenerator;

export interface SamplingParams {
  temperature: number;
  topP: number;
  maxTokens: number;
  /** Sample i of a job uses seed + i where the generator takes a seed. */
  seed: number;
  stop: string[];
}

export interface GenerateParams {
  /** Stable id; a finished job is answered from the journal. */
  jobId: string;
  generator: GeneratorSpec;
  /** The prompt text (sent as the user message where a chat template or API is used). */
  prompt: string;
  n: number;
  sampling: SamplingParams;
  executionProvider?: string;
  threads?: number;
}

export interface Completion {
  index: number;
  text: string;
  /** 'stop': a stop string or the end-of-sequence token; 'length': maxTokens reached; 'error': no completion (see error). */
  finishReason: 'stop' | 'length' | 'error';
  promptTokens?: number;
  completionTokens?: number;
  /** The seed this sample was drawn with, where the generator took one. */
  seed?: number;
  error?: string;
}

export interface GenerateResult {
  jobId: string;
  /** What generated: the model folder's name or the server's model id. */
  model: string;
  /** The exact text the model saw (after the chat template, for the engine), or the prompt. */
  promptText: string;
  chat: boolean;
  completions: Completion[];
  timings: Record<string, number>;
  fromJournal?: boolean;
}

export interface GenerateProgressParams {
  jobId: string;
  phase: 'generate';
  done: number;
  total: number;
}

/** What the orchestrator (the loop, the CLI, the extension) needs of a backend, whatever the
 * transport: a local child process today, ssh or a WebSocket later. */
export interface Backend {
  readonly info: InitializeResult;
  score(params: ScoreParams, opts?: { signal?: AbortSignal; onProgress?: (p: ProgressParams) => void }): Promise<ScoreResult>;
  generate(params: GenerateParams, opts?: { signal?: AbortSignal; onProgress?: (p: GenerateProgressParams) => void }): Promise<GenerateResult>;
  dispose(): Promise<void>;
}

export const InitializeRequest = new RequestType<InitializeParams, InitializeResult, void>('selfdev/initialize');
export const ScoreRequest = new RequestType<ScoreParams, ScoreResult, void>('selfdev/score');
export const ShutdownRequest = new RequestType0<void, void>('selfdev/shutdown');
export const ProgressNotification = new NotificationType<ProgressParams>('selfdev/progress');
export const GenerateRequest = new RequestType<GenerateParams, GenerateResult, void>('selfdev/generate');
export const GenerateProgressNotification = new NotificationType<GenerateProgressParams>('selfdev/generateProgress');
