// Types of the sandboxed Python runner's job and result record (resources/python/, docs/SANDBOX.md).
// The field names are the JSON the Python side reads and writes.

export const FAILURE_CLASSES = [
  'syntax',
  'missing_function',
  'bad_signature',
  'exception',
  'timeout',
  'memory',
  'non_finite',
  'shape_mismatch',
  'dtype',
  'forbidden',
  'no_op',
  'setup',
] as const;
/** Why an algorithm failed. `setup` is the only class that is not the algorithm's fault. */
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** One line per class, for the UI (the same text as resources/python/selfdev_runner/checks.py). */
export const FAILURE_MESSAGES: Record<FailureClass, string> = {
  syntax: 'The algorithm is not valid Python.',
  missing_function: 'The algorithm does not define merge(task_vectors, name).',
  bad_signature: 'merge must accept exactly two arguments: (task_vectors, name).',
  exception: 'merge raised an exception.',
  timeout: 'The algorithm ran past its time limit and was stopped.',
  memory: 'The algorithm used more memory than allowed and was stopped.',
  non_finite: 'merge returned NaN or infinite values.',
  shape_mismatch: "merge returned a tensor whose shape differs from the task vectors'.",
  dtype: "merge returned something other than a floating-point tensor of the run's library.",
  forbidden: 'The algorithm tried a forbidden operation (import, file, network or process access).',
  no_op: 'The algorithm does nothing useful: it returns zeros, or one task vector unchanged.',
  setup: "The runner could not prepare the job (models, scope, interpreter); not the algorithm's fault.",
};

export type TensorLibrary = 'numpy' | 'torch';

export interface RunnerLimits {
  /** Wall-clock limit of the worker (default 300). */
  wallSeconds?: number;
  /** CPU-time limit of the worker (default 300). */
  cpuSeconds?: number;
  /** Address space the algorithm may add on top of the libraries and model maps (default 4096; not applied with CUDA). */
  memoryMB?: number;
  /** Share of the GPU's memory torch may use on CUDA (default 0.5). */
  gpuMemoryFraction?: number;
  /** Characters of the algorithm's printed output kept (default 16384). */
  outputChars?: number;
  /** Largest file the algorithm may write inside scratch (default 64). */
  fileMB?: number;
  /** Size of the sandbox's private scratch (a tmpfs), all files together (default 64). */
  scratchMB?: number;
}

/** How generated code was contained: `kernel` (namespaces, uid 65534, seccomp; the default and
 * the only mode used unless the user opted out), `unisolated` (Python-level guards only, after
 * the user allowed it on a machine without kernel isolation), `none` (nothing ran). */
export type IsolationMode = 'kernel' | 'unisolated' | 'none';

/** One algorithm applied to a seed model. Paths are absolute or relative to the caller's cwd. */
export interface ApplyJob {
  seedModel: string;
  candidates: string[];
  /** The algorithm, as a file or as source text (one of the two). */
  algorithmFile?: string;
  source?: string;
  /** Module constants replaced before the run (coefficient grids): e.g. { LAMBDA: 0.4 }. */
  constants?: Record<string, number | string | boolean | null>;
  /** Regex (re.search) over parameter names; default: MLP weights. */
  mergeScope?: string;
  tensorLibrary?: TensorLibrary;
  device?: 'auto' | 'cpu' | 'cuda';
  /** Folder for the worker's files; the merged file goes here unless `output` is set. */
  scratch: string;
  output?: string;
  randomSeed?: number;
  /** Unisolated runs only: 'auto': a network namespace when unshare permits it; 'namespace': require it; 'hook-only': do not try. */
  network?: 'auto' | 'namespace' | 'hook-only';
  /** Run without kernel isolation where it is not available (the user's explicit opt-in); by
   * default such a job fails with `setup` and says how to get isolation. */
  allowUnisolated?: boolean;
  /** Relative L2 distance to a candidate's task vector under which the delta is a no-op (default 1e-3). */
  noOpTolerance?: number;
  threads?: number;
  limits?: RunnerLimits;
}

export interface DeltaStats {
  elements: number;
  meanAbs: number;
  rms: number;
  maxAbs: number;
  zeroFraction: number;
  /** ||delta|| / ||seed|| over the merge scope. */
  relativeNorm: number | null;
}

export interface SandboxReport {
  isolation?: IsolationMode;
  /** Kernel isolation: the namespaces, the uid the algorithm ran as, seccomp, the scratch size. */
  namespaces?: string[];
  uid?: number;
  seccomp?: boolean;
  scratchMB?: number;
  gpuDevices?: boolean;
  networkNamespace: boolean;
  auditHook: boolean;
  processGroup: boolean;
  scrubbedEnvironment: boolean;
  tensorLibrary: TensorLibrary;
  device?: 'cpu' | 'cuda';
  torchLoaded?: boolean;
  limits?: Record<string, number>;
  /** How the worker process started: afresh (a sandbox of its own), or forked by the warm
   *  sandbox's zygote (a warm runner's default). */
  worker?: 'fresh' | 'forked';
}

export interface RunnerResult {
  status: 'ok' | 'failed';
  errorClass?: FailureClass;
  /** The class's one-line message. */
  message?: string;
  /** What exactly happened (one line or a few). */
  detail?: string;
  /** The traceback restricted to the algorithm's own lines. */
  traceback?: string;
  /** safetensors file with the merge scope's merged tensors (the seed's dtype); present when ok. */
  mergedFile?: string;
  /** SHA-256 of mergedFile as the runner wrote it; checked before the file is evaluated. */
  mergedSha256?: string;
  /** How the algorithm was contained (also in sandbox.isolation). */
  isolation?: IsolationMode;
  /** The job was refused because kernel isolation is missing here and was not waived. */
  isolationRefused?: boolean;
  timings: Record<string, number>;
  peakMemoryMB: number;
  deltaStats?: DeltaStats;
  /** The algorithm's printed output, capped. */
  output?: string;
  sandbox?: SandboxReport;
  parameters?: number;
  taskVectorMB?: number;
  throughputMBs?: number;
  algorithmSha256?: string;
  line?: number;
  /** The runner's stderr (capped), for diagnosing `setup` failures. */
  stderr?: string;
}
