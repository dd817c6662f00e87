// The backend protocol: JSON-RPC 2.0 (vscode-jsonrpc) between the orchestrator (extension or
// CLI) and the backend that merges, scores, generates and refines: a local child over stdio, or
// a daemon on a GPU machine reached over ssh or a WebSocket. Both sides import only this file for
// the contract.
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';

export const PROTOCOL_VERSION = 5;

export interface InitializeParams {
  protocolVersion: number;
  clientVersion: string;
  /** Where the backend journals finished jobs, so a dropped connection loses nothing. */
  journalDir?: string;
  /** Where the backend keeps large files it makes (refined generators), outside git; artifact
   * names in requests and results are relative to it. Refinement needs one. */
  artifactsDir?: string;
}

export interface InitializeResult {
  protocolVersion: number;
  backendVersion: string;
  node: string;
  platform: string;
  cpus: number;
  executionProviders: string[];
  /** The machine's name (a remote backend is shown by it). */
  host?: string;
  /** GPUs the machine reports (nvidia-smi), empty where there are none. */
  gpus?: string[];
  /** A daemon's instance id: it changes when the daemon restarts, and with it every event
   * offset (the client then attaches from 0 and submits its unfinished jobs again). Absent for
   * a stdio backend, which lives as long as its connection. */
  daemonId?: string;
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
  /** The execution provider the evaluation ran on. */
  provider?: string;
  /** Why it is not the one asked for (e.g. CUDA missing on the backend's machine: the CPU). */
  fallback?: string;
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

/** Export of a merged model (selfdev export model): the algorithm applied again in the sandbox,
 * the merged model written as a complete checkpoint on the backend's machine, where the models are. */
export interface ExportModelParams {
  jobId: string;
  models: ModelSet;
  algorithm: { source: string; constants?: Record<string, number | string | boolean | null> };
  limits: { timeoutSeconds: number; memoryMB: number };
  randomSeed: number;
  python: string;
  allowUnisolated?: boolean;
  /** The checkpoint folder on the backend's machine; it must not exist or be empty. */
  out: string;
  /** Largest weight file in bytes (default 5 GB, as transformers saves). */
  maxShardBytes?: number;
  /** Into each weight file's `__metadata__` (strings only). */
  metadata: Record<string, string>;
  /** The model card (README.md). */
  card: string;
  /** More files for the folder (name -> text): the provenance. */
  extraFiles: Record<string, string>;
  /** The merge's statistics when the algorithm was scored: the merge made again must have them,
   * or the export stops (the checkpoint would not be the model that was scored). */
  expectDeltaStats?: Record<string, number | null>;
}

export interface ExportProgressParams {
  jobId: string;
  phase: 'apply' | 'write';
  done: number;
  total: number;
}

export interface ExportModelResult {
  jobId: string;
  status: 'ok' | 'failed';
  errorClass?: string;
  message?: string;
  detail?: string;
  folder?: string;
  weightFiles?: string[];
  copied?: string[];
  totalBytes?: number;
  tensors?: number;
  /** Tensors the merge replaced. */
  merged?: number;
  dtype?: string;
  deltaStats?: Record<string, number | null>;
  isolation?: 'kernel' | 'unisolated';
  timings: Record<string, number>;
  fromJournal?: boolean;
}

/** The LLM factory's generator: a local model folder run by the project's engine, or an
 * OpenAI-compatible server. */
export interface EngineGenerator {
  kind: 'engine';
  /** Model folder (Hugging Face format). */
  model: string;
  /** 'auto': use the model's chat template when it has one; 'never': send the prompt as plain text. */
  chat: 'auto' | 'never';
  /** A refined generator: the artifact (under the backend's artifactsDir) whose merged weights
   * replace `model`. */
  weights?: string;
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
  /** A refined generator published by model path: the artifact whose merged folder the server
   * loads when a request names it as the model (transformers serve does; the server must see the
   * backend's files). */
  weights?: string;
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

/** DPO settings of one refinement (TRL's DPOConfig and PEFT's LoraConfig, by their meaning). */
export interface DpoHyperparameters {
  beta: number;
  learningRate: number;
  epochs: number;
  batchSize: number;
  gradientAccumulationSteps: number;
  loraRank: number;
  loraAlpha: number;
  loraDropout: number;
  /** "all-linear" or a list of module names. */
  targetModules: string | string[];
  /** Longest prompt + completion in tokens; longer pairs are truncated by TRL. */
  maxLength: number;
  /** TRL's loss_type: "sigmoid" is the DPO of the paper. */
  lossType: 'sigmoid' | 'hinge' | 'ipo' | 'robust';
  warmupRatio: number;
  seed: number;
  /** Optimizer steps between checkpoints (a killed trainer resumes from the last). */
  checkpointSteps: number;
}

/** One preference pair in TRL's standard format: the exact prompt text the generator saw and
 * the two completions. */
export interface PreferenceRow {
  prompt: string;
  chosen: string;
  rejected: string;
}

export interface RefineParams {
  /** Stable id: a finished job is answered from the journal (while its artifact exists). */
  jobId: string;
  /** The generator to refine: a model folder on the backend, or an earlier refinement's artifact. */
  base: { model: string } | { artifact: string };
  train: PreferenceRow[];
  /** Pairs kept out of training, to measure the refinement on. */
  heldOut: PreferenceRow[];
  hyperparameters: DpoHyperparameters;
  device: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  /** The name the refined generator gets under the artifacts folder; the backend adds the
   * weights' hash: "<artifact>-<hash12>". */
  artifact: string;
  /** Python with TRL and PEFT; the backend's default when absent. */
  python?: string;
}

/** Log-probability margins log pi(chosen) - log pi(rejected), per held-out pair. */
export interface HeldOutMetrics {
  pairs: number;
  before: { margins: number[]; meanMargin: number };
  after: { margins: number[]; meanMargin: number; rewards: number[]; rewardAccuracy: number; rewardMargin: number };
}

export interface DpoMetrics {
  train: { pairs: number; steps: number; epochs: number; lossFirst: number | null; lossLast: number | null; rewardAccuracy: number | null; rewardMargin: number | null };
  heldOut: HeldOutMetrics | null;
  versions: Record<string, string>;
  resumedFrom: number | null;
}

export interface RefineResult {
  jobId: string;
  /** "<artifact>-<hash12>": adapter/ and merged/ (Hugging Face format) and metrics.json inside. */
  artifact: string;
  /** sha256 over the merged weights' files (names and contents). */
  weightHash: string;
  adapterHash: string;
  metrics: DpoMetrics;
  timings: Record<string, number>;
  fromJournal?: boolean;
}

export interface RefineProgressParams {
  jobId: string;
  phase: 'load' | 'evaluate' | 'train' | 'save';
  step: number;
  steps: number;
  epoch?: number;
  loss?: number;
  rewardAccuracy?: number;
  rewardMargin?: number;
}

/** What the orchestrator (the loop, the CLI, the extension) needs of a backend, whatever the
 * transport: a local child process today, ssh or a WebSocket later. */
export interface Backend {
  readonly info: InitializeResult;
  score(params: ScoreParams, opts?: { signal?: AbortSignal; onProgress?: (p: ProgressParams) => void }): Promise<ScoreResult>;
  generate(params: GenerateParams, opts?: { signal?: AbortSignal; onProgress?: (p: GenerateProgressParams) => void }): Promise<GenerateResult>;
  refine(params: RefineParams, opts?: { signal?: AbortSignal; onProgress?: (p: RefineProgressParams) => void }): Promise<RefineResult>;
  exportModel(params: ExportModelParams, opts?: { signal?: AbortSignal; onProgress?: (p: ExportProgressParams) => void }): Promise<ExportModelResult>;
  /** Scale-out: starts a run's workers through a launcher (or joins those already started); from
   * then on the run's score jobs are handed to them. `onStatus` hears the pool's state. */
  openWorkers(params: OpenWorkersParams, onStatus?: (s: WorkerPoolStatus) => void): Promise<WorkerPoolStatus>;
  /** Releases a run's workers (the scheduler cancels them; nothing is left queued). */
  closeWorkers(run: string, reason?: string): Promise<WorkerPoolStatus | undefined>;
  dispose(): Promise<void>;
}

/** How a run's scoring is spread over a cluster: W long-lived workers started as one unit. Only
 * Slurm today (a job array); `processes` starts them as child processes of the backend (one per
 * GPU of a single machine). */
export interface LauncherSpec {
  kind: 'slurm' | 'processes';
  workers: number;
  partition?: string;
  /** GPUs per worker (`--gres=gpu:N`). */
  gpusPerWorker: number;
  cpusPerWorker?: number;
  memoryMB?: number;
  /** Slurm's time format: "minutes", "HH:MM:SS", "D-HH". */
  timeLimit?: string;
  /** More sbatch options, each one argument ("--account=lab"). */
  sbatchOptions?: string[];
  /** A silent worker's jobs go back to the queue after this long. */
  leaseSeconds: number;
  /** The address the workers reach the backend at (default: this machine's name). */
  advertiseHost?: string;
  /** The interface and port the backend listens on for workers (default: all, any free port). */
  listenHost?: string;
  listenPort?: number;
}

export interface OpenWorkersParams {
  run: string;
  launcher: LauncherSpec;
}

export type WorkerState = 'pending' | 'starting' | 'running' | 'lost' | 'ended';

export interface WorkerInfo {
  index: number;
  state: WorkerState;
  /** The scheduler's word (PENDING, RUNNING...) and why it waits (Resources, Priority...). */
  detail?: string;
  reason?: string;
  host?: string;
  pid?: number;
  /** Jobs this worker finished (results recorded). */
  jobsDone: number;
  /** The job it works on now. */
  current?: string;
}

export interface WorkerPoolStatus {
  run: string;
  launcher: LauncherSpec['kind'];
  /** The scheduler's id of the unit (a Slurm job array id); several after relaunches. */
  ids: string[];
  state: 'starting' | 'open' | 'closed';
  workers: WorkerInfo[];
  queued: number;
  running: number;
  finished: number;
  /** Jobs given back to the queue (their worker was lost or its lease ran out). */
  requeued: number;
  /** Results that arrived for a job already recorded. */
  duplicates: number;
  /** Results per hour over the last minutes (absent until there are two). */
  jobsPerHour?: number;
  /** Why the pool is closed, or what went wrong. */
  message?: string;
}

// The daemon's job API. A job is submitted by id (submitting the id of a running job returns that
// job; a finished one is answered again from the journal), runs
// whether or not its client stays connected, and reports through its run's ordered event log:
// a client attaches to a run from the offset it last saw, gets what it missed in order, then live
// events. Job ids start with "<run>/".
export type JobKind = 'score' | 'generate' | 'refine' | 'export';
export type SubmitParams =
  | { kind: 'score'; params: ScoreParams }
  | { kind: 'generate'; params: GenerateParams }
  | { kind: 'refine'; params: RefineParams }
  | { kind: 'export'; params: ExportModelParams };
export type JobStatus = 'running' | 'finished' | 'failed' | 'cancelled' | 'interrupted';

export interface JobInfo {
  jobId: string;
  run: string;
  status: JobStatus;
}


export interface AttachParams {
  run: string;
  /** The first event wanted (0: all that are kept). */
  offset: number;
}

export interface AttachResult {
  /** The offset the next new event will have. */
  next: number;
  /** The run's jobs the daemon knows, with their states. */
  jobs: JobInfo[];
}

/** One event of a run's log: a job's progress (ProgressParams, GenerateProgressParams or
 * RefineProgressParams), its result (ScoreResult, GenerateResult or RefineResult), or its error. */
export interface JobEventParams {
  run: string;
  offset: number;
  jobId: string;
  kind: 'progress' | 'result' | 'error';
  data: unknown;
}

export interface JobErrorData {
  message: string;
  cancelled: boolean;
  /** The error's class where the client acts on it (IsolationUnavailableError). */
  name?: string;
}

export interface DaemonStatus {
  pid: number;
  daemonId: string;
  backendVersion: string;
  protocolVersion: number;
  host: string;
  stateDir: string;
  startedAt: string;
  clients: number;
  jobs: { running: number; finished: number; failed: number; cancelled: number; interrupted: number };
  /** Seconds without clients or running jobs after which the daemon stops (0: never). */
  idleShutdownSeconds: number;
  /** Runs' worker pools (scale-out), open or closed since the daemon started. */
  workers?: WorkerPoolStatus[];
}

export const InitializeRequest = new RequestType<InitializeParams, InitializeResult, void>('selfdev/initialize');
export const ScoreRequest = new RequestType<ScoreParams, ScoreResult, void>('selfdev/score');
export const ShutdownRequest = new RequestType0<void, void>('selfdev/shutdown');
export const ProgressNotification = new NotificationType<ProgressParams>('selfdev/progress');
export const GenerateRequest = new RequestType<GenerateParams, GenerateResult, void>('selfdev/generate');
export const GenerateProgressNotification = new NotificationType<GenerateProgressParams>('selfdev/generateProgress');
export const RefineRequest = new RequestType<RefineParams, RefineResult, void>('selfdev/refine');
export const RefineProgressNotification = new NotificationType<RefineProgressParams>('selfdev/refineProgress');
export const ExportModelRequest = new RequestType<ExportModelParams, ExportModelResult, void>('selfdev/exportModel');
export const ExportProgressNotification = new NotificationType<ExportProgressParams>('selfdev/exportProgress');
export const SubmitRequest = new RequestType<SubmitParams, JobInfo, void>('selfdev/submit');
export const AttachRequest = new RequestType<AttachParams, AttachResult, void>('selfdev/attach');
export const CancelRequest = new RequestType<{ jobId: string }, { cancelled: boolean }, void>('selfdev/cancel');
export const JobEventNotification = new NotificationType<JobEventParams>('selfdev/event');
/** A heartbeat: either side treats a silent peer as gone after its timeout. */
export const PingRequest = new RequestType0<{ time: number }, void>('selfdev/ping');
export const StatusRequest = new RequestType0<DaemonStatus, void>('selfdev/status');
/** Stops the daemon: running jobs are cancelled and marked interrupted for their clients. */
export const StopRequest = new RequestType0<void, void>('selfdev/stop');
export const OpenWorkersRequest = new RequestType<OpenWorkersParams, WorkerPoolStatus, void>('selfdev/openWorkers');
/** `reason` is shown with the pool's end ("the iteration ended", "cancelled"). */
export const CloseWorkersRequest = new RequestType<{ run: string; reason?: string }, WorkerPoolStatus | null, void>('selfdev/closeWorkers');
/** A run's worker pool changed (sent to the clients that opened it or attached to its run). */
export const WorkersNotification = new NotificationType<WorkerPoolStatus>('selfdev/workers');
