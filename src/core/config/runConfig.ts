// The run configuration (*.selfdev.json): types, defaults and validation. Errors name the file
// and the field and say what is expected. resources/schema/run.schema.json describes the same
// format for the editor; a unit test keeps the two in step.
import { promises as fs } from 'node:fs';
import { findNodeAtLocation, parse as parseJsonc, parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import * as path from 'node:path';
import type { BenchmarkJob, DpoHyperparameters, LauncherSpec, OpenAiGenerator, ScoreSettings } from '../../protocol/backend';
import { DEFAULT_REFINE_OPTIONS } from '../factory';
import { DEFAULT_PAIR_POLICY, type PairPolicy } from '../pairs';
import { DEFAULT_SCHEDULE, type TemperatureSchedule } from '../schedule';

export interface BenchmarkConfig {
  dev: string;
  test?: string;
  fewshot?: string;
  answer: 'gsm8k' | 'boxed';
  /** Use only the first N dev items. */
  devSize?: number;
}

/** Where a GSM8k answer is read (engine/eval): `strict`, only after `####` (the default); or
 * `flexible`, that, else after "The answer is", else the last number. */
export type GsmAnswerMode = 'strict' | 'flexible';

export interface EvalConfig {
  gsmAnswer: GsmAnswerMode;
  shots: number;
  prompt: string;
  exemplar: string;
  bos: boolean;
  decoding: 'greedy';
  maxNewTokens: number;
  stop: string[];
}

/** The LLM factory's generator as configured: `model: "seed"` (the paper's setting, the
 * default) is the run's seed model; other models are folders (absolute after parsing). */
export type GeneratorConfig = { kind: 'engine'; model: 'seed' | string; chat: 'auto' | 'never' } | OpenAiGenerator;

export interface LlmFactoryConfig {
  kind: 'llm';
  generator: GeneratorConfig;
  /** Prompt template (absolute path); undefined: the built-in 1-shot prompt (resources/prompts). */
  prompt?: string;
  /** The worked example shown (absolute path); undefined: resources/algorithms/worked_example.py. */
  workedExample?: string;
  /** How many of the best earlier algorithms the prompt shows ({{examples}}); 0: the paper's fixed prompt. */
  examples: number;
  topP: number;
  maxTokens: number;
  stop: string[];
  refine: LlmRefineConfig;
}

/** How the LLM factory is refined after each iteration: DPO (TRL) with a LoRA adapter (PEFT) on
 * the current generator. The seed is the run's randomSeed. */
export interface LlmRefineConfig extends Omit<DpoHyperparameters, 'seed'> {
  /** false: the pairs are written (dpo/), the generator is never refined. */
  enabled: boolean;
  /** Share of the rejected algorithms whose pairs are held out of training, to measure it on. */
  heldOut: number;
  device: 'auto' | 'cpu' | 'cuda';
  /** openai generator: the Hugging Face folder of the model the server serves (on the backend's
   * machine); without it the generator cannot be refined and the run says so. */
  baseModel?: string;
  /** openai generator: how refined weights reach the server. "model-path": requests name the
   * merged folder as the model and the server loads it (transformers serve does). */
  publish: 'model-path';
}

/** The paper's settings for 7B-class models: LoRA rank 256, learning rate 1e-6, beta 0.01. It does
 * not publish epochs, batch size or alpha: one epoch, batches of 8 and alpha = rank (scale 1). */
export const LLM_REFINE_DEFAULTS: LlmRefineConfig = {
  enabled: true,
  beta: 0.01,
  learningRate: 1e-6,
  epochs: 1,
  batchSize: 8,
  gradientAccumulationSteps: 1,
  loraRank: 256,
  loraAlpha: 256,
  loraDropout: 0.05,
  targetModules: 'all-linear',
  maxLength: 4096,
  lossType: 'sigmoid',
  warmupRatio: 0,
  checkpointSteps: 50,
  heldOut: 0.2,
  device: 'auto',
  publish: 'model-path',
};

/** The DPO settings of a refinement: the config's, less what is not TRL's or PEFT's. */
export function dpoHyperparameters(refine: LlmRefineConfig, seed: number): DpoHyperparameters {
  const { enabled: _enabled, heldOut: _heldOut, device: _device, baseModel: _baseModel, publish: _publish, ...dpo } = refine;
  return { ...dpo, seed };
}

export type FactoryConfig = { kind: 'grammar' } | LlmFactoryConfig;

export const LLM_FACTORY_DEFAULTS = { examples: 0, topP: 1, maxTokens: 1024, concurrency: 4, samplesPerRequest: 1, timeoutSeconds: 300, retries: 3 } as const;

/** An LLM factory with every setting at its default: by default the seed model writes (the
 * paper's setting); `endpoint` makes it an OpenAI-compatible server instead. */
export function defaultLlmFactory(endpoint?: Pick<OpenAiGenerator, 'baseUrl' | 'model' | 'api' | 'concurrency'>): LlmFactoryConfig {
  const d = LLM_FACTORY_DEFAULTS;
  const generator: GeneratorConfig = endpoint
    ? { kind: 'openai', ...endpoint, samplesPerRequest: d.samplesPerRequest, timeoutSeconds: d.timeoutSeconds, retries: d.retries }
    : { kind: 'engine', model: 'seed', chat: 'auto' };
  return { kind: 'llm', generator, examples: d.examples, topP: d.topP, maxTokens: d.maxTokens, stop: [], refine: { ...LLM_REFINE_DEFAULTS } };
}

export interface RefinementConfig {
  beta: number;
  learningRate: number;
  steps: number;
}

export interface RunConfig {
  name: string;
  /** Absolute paths (resolved against the config file's folder). */
  seed: string;
  candidates: string[];
  transfer: Record<string, string[]>;
  mergeScope: string;
  tensorLibrary: 'numpy' | 'torch';
  benchmarks: Record<string, BenchmarkConfig>;
  eval: EvalConfig;
  factory: FactoryConfig;
  algorithmsPerIteration: number;
  iterations: number;
  temperature: TemperatureSchedule;
  pairs: PairPolicy;
  refinement: RefinementConfig;
  /** randomSeed: seeds the factory, the runner and the bootstrap. */
  randomSeed: number;
  concurrency: number;
  finalists: number;
  limits: { timeoutSeconds: number; memoryMB: number };
  baselines: boolean;
  randomControl: boolean;
  /** Scale-out: the run's scoring spread over workers a launcher starts (a Slurm job array);
   * absent: the backend scores by itself. */
  launcher?: LauncherSpec;
}

/** One problem of a config: the field (a path such as "benchmarks.gsm.dev"; "" for the file
 * as a whole) and, when the config's text was read, where it is (1-based). */
export interface ConfigProblem {
  field: string;
  problem: string;
  line?: number;
  column?: number;
}

/** Every problem of a config at once; the message lists them, each as file:line:column when
 * known (a form terminals and editors turn into links). */
export class RunConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
    more: ConfigProblem[] = [],
  ) {
    const problems = [{ field, problem }, ...more];
    super(describeProblems(file, problems));
    this.name = 'RunConfigError';
    this.problems = problems;
  }

  static of(file: string, problems: ConfigProblem[]): RunConfigError {
    const e = new RunConfigError(file, problems[0].field, problems[0].problem, problems.slice(1));
    e.problems.splice(0, e.problems.length, ...problems);
    e.message = describeProblems(file, problems);
    return e;
  }
}

function describeProblems(file: string, problems: ConfigProblem[]): string {
  const one = (p: ConfigProblem) => `${file}${p.line ? `:${p.line}:${p.column ?? 1}` : ''}: ${p.field ? `${p.field}: ` : ''}${p.problem}`;
  if (problems.length === 1) return one(problems[0]);
  return `${file}: ${problems.length} problems:\n${problems.map((p) => `  ${one(p)}`).join('\n')}`;
}

export const DEFAULT_MERGE_SCOPE = '^model\\.layers\\.\\d+\\.mlp\\.(gate|up|down)_proj\\.weight$';

/** Every top-level field of a run config (resources/schema/run.schema.json lists the same). */
export const RUN_CONFIG_FIELDS: readonly string[] = [
  '$schema', '$comment', 'name', 'description', 'seed', 'candidates', 'transfer', 'mergeScope', 'tensorLibrary', 'benchmarks', 'eval', 'factory',
  'algorithmsPerIteration', 'iterations', 'temperature', 'pairs', 'refinement', 'randomSeed', 'concurrency', 'finalists', 'limits',
  'baselines', 'randomControl', 'measured', 'launcher',
];
const KNOWN = new Set(RUN_CONFIG_FIELDS);

type Obj = Record<string, unknown>;

/** The prefix of a config path that names a file on the backend's machine. */
export const BACKEND_PATH = 'backend:';

/** Reads and validates a run config; relative paths are resolved against its folder. */
export async function readRunConfig(file: string): Promise<RunConfig> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await fs.readFile(abs, 'utf8');
  } catch (err) {
    throw new RunConfigError(abs, '', (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw RunConfigError.of(abs, syntaxProblems(text, (err as Error).message));
  }
  try {
    return parseRunConfig(json, abs);
  } catch (err) {
    if (err instanceof RunConfigError) throw RunConfigError.of(abs, err.problems.map((p) => ({ ...p, ...locate(text, p.field) })));
    throw err;
  }
}

export function parseRunConfig(json: unknown, file: string): RunConfig {
  const fail = (field: string, problem: string): never => {
    throw new RunConfigError(file, field, problem);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('', 'expected a JSON object');
  // Every problem is reported at once: each part of the config is read on its own (`part`), and
  // a problem in one stands in a placeholder there while the others are still checked.
  const problems: ConfigProblem[] = [];
  const part = <T>(read: () => T, placeholder: T): T => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof RunConfigError)) throw err;
      for (const p of err.problems) if (!problems.some((q) => q.field === p.field && q.problem === p.problem)) problems.push(p);
      return placeholder;
    }
  };
  const c = json as Obj;
  for (const key of Object.keys(c)) if (!KNOWN.has(key)) part(() => fail(key, `unknown field (known: ${[...KNOWN].filter((k) => k !== '$schema').join(', ')})`), undefined);
  const dir = path.dirname(file);
  // "backend:/abs/path" names a file on the backend's machine (a remote GPU host): passed to the
  // backend as it is, never resolved here, so nothing large is copied or uploaded.
  const resolve = (p: string) => {
    if (!p.startsWith(BACKEND_PATH)) return path.resolve(dir, p);
    const remote = p.slice(BACKEND_PATH.length);
    if (!remote.startsWith('/')) fail('', `"${p}": a path on the backend's machine must be absolute (backend:/...)`);
    return path.posix.normalize(remote);
  };

  const obj = (v: unknown, field: string, keys?: readonly string[]): Obj => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'expected an object');
    // "$comment" is allowed in every object: a config's only way to say why (JSON has no comments).
    for (const k of keys ? Object.keys(v as Obj) : []) if (!keys!.includes(k) && k !== '$comment') fail(`${field}.${k}`, `unknown field (known: ${keys!.join(', ')})`);
    return v as Obj;
  };
  const str = (v: unknown, field: string): string => {
    if (typeof v !== 'string' || v.length === 0) fail(field, 'expected a non-empty string');
    return v as string;
  };
  const int = (v: unknown, field: string, min: number, fallback?: number): number => {
    const x = v ?? fallback;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) fail(field, `expected a whole number >= ${min}`);
    return x as number;
  };
  const num = (v: unknown, field: string, lo: number, hi: number, fallback?: number): number => {
    const x = v ?? fallback;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < lo || x > hi) fail(field, `expected a number from ${lo} to ${hi}`);
    return x as number;
  };
  const bool = (v: unknown, field: string, fallback: boolean): boolean => {
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') fail(field, 'expected true or false');
    return v as boolean;
  };
  const paths = (v: unknown, field: string, min: number): string[] => {
    if (!Array.isArray(v) || v.length < min) fail(field, `expected a list of at least ${min} model folder(s)`);
    return (v as unknown[]).map((p, i) => resolve(str(p, `${field}[${i}]`)));
  };
  const oneOf = <T extends string>(v: unknown, field: string, options: readonly T[], fallback: T): T => {
    const x = v ?? fallback;
    if (!options.includes(x as T)) fail(field, `expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}`);
    return x as T;
  };

  const launcher = part(() => parseLauncher(c.launcher, file), undefined);
  const mergeScope = part(() => {
    const scope = c.mergeScope === undefined ? DEFAULT_MERGE_SCOPE : str(c.mergeScope, 'mergeScope');
    try {
      new RegExp(scope);
    } catch (err) {
      fail('mergeScope', `not a valid regular expression: ${(err as Error).message}`);
    }
    return scope;
  }, DEFAULT_MERGE_SCOPE);

  let transfer: Record<string, string[]> = {};
  if (Array.isArray(c.transfer)) transfer = part<Record<string, string[]>>(() => ({ transfer: paths(c.transfer, 'transfer', 1) }), {});
  else if (c.transfer !== undefined) {
    transfer = Object.fromEntries(Object.entries(part(() => obj(c.transfer, 'transfer'), {})).map(([k, v]) => [k, part(() => paths(v, `transfer.${k}`, 1), [])]));
  }

  const benchmarks: Record<string, BenchmarkConfig> = Object.fromEntries(
    Object.entries(part(() => obj(c.benchmarks, 'benchmarks'), {})).map(([name, raw]) => part<[string, BenchmarkConfig | undefined]>(() => {
      const b = obj(raw, `benchmarks.${name}`, ['dev', 'test', 'fewshot', 'answer', 'devSize']);
      const f = `benchmarks.${name}`;
      return [
        name,
        {
          dev: resolve(str(b.dev, `${f}.dev`)),
          test: b.test === undefined ? undefined : resolve(str(b.test, `${f}.test`)),
          fewshot: b.fewshot === undefined ? undefined : resolve(str(b.fewshot, `${f}.fewshot`)),
          answer: oneOf(b.answer, `${f}.answer`, ['gsm8k', 'boxed'] as const, 'gsm8k'),
          devSize: b.devSize === undefined ? undefined : int(b.devSize, `${f}.devSize`, 1),
        } satisfies BenchmarkConfig,
      ];
    }, [name, undefined])).filter((entry): entry is [string, BenchmarkConfig] => entry[1] !== undefined),
  );
  if (Object.keys(benchmarks).length === 0 && c.benchmarks !== undefined && !problems.some((p) => p.field.startsWith('benchmarks'))) part(() => fail('benchmarks', 'expected at least one benchmark'), undefined);

  const e = part(() => (c.eval === undefined ? {} : obj(c.eval, 'eval', ['gsmAnswer', 'shots', 'prompt', 'exemplar', 'bos', 'decoding', 'maxNewTokens', 'stop'])), {});
  const stop = part(() => {
    const list = e.stop ?? ['\n\n'];
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s)) fail('eval.stop', 'expected a list of non-empty strings');
    return list as string[];
  }, ['\n\n']);
  const evalConfig: EvalConfig = part(() => ({
    gsmAnswer: oneOf(e.gsmAnswer, 'eval.gsmAnswer', ['strict', 'flexible'] as const, 'strict'),
    shots: int(e.shots, 'eval.shots', 0, 0),
    prompt: e.prompt === undefined ? 'Question: {question}\nAnswer:' : str(e.prompt, 'eval.prompt'),
    exemplar: e.exemplar === undefined ? 'Question: {question}\nAnswer: {solution}\n\n' : str(e.exemplar, 'eval.exemplar'),
    bos: bool(e.bos, 'eval.bos', true),
    decoding: oneOf(e.decoding, 'eval.decoding', ['greedy'] as const, 'greedy'),
    maxNewTokens: int(e.maxNewTokens, 'eval.maxNewTokens', 1, 256),
    stop,
  }), undefined as unknown as EvalConfig);
  if (evalConfig && !evalConfig.prompt.includes('{question}')) part(() => fail('eval.prompt', 'must contain {question}'), undefined);

  const section = (name: string, keys: string[]): Obj => part(() => (c[name] === undefined ? {} : obj(c[name], name, keys)), {});
  const t = section('temperature', ['kind', 'start', 'decay', 'floor']);
  const p = section('pairs', ['chosenTop', 'rejectedBottom', 'elitism', 'failedAsRejected', 'minEach']);
  const r = section('refinement', ['beta', 'learningRate', 'steps']);
  const l = section('limits', ['timeoutSeconds', 'memoryMB']);
  const factory = (): FactoryConfig => {
    const f = c.factory === undefined ? {} : obj(c.factory, 'factory');
    const kind = oneOf(f.kind, 'factory.kind', ['grammar', 'llm'] as const, 'grammar');
    if (kind === 'grammar') {
      obj(f, 'factory', ['kind']);
      return { kind };
    }
    obj(f, 'factory', ['kind', 'generator', 'prompt', 'workedExample', 'examples', 'topP', 'maxTokens', 'stop', 'refine']);
    const g = f.generator === undefined ? {} : obj(f.generator, 'factory.generator');
    if ('apiKey' in g || 'key' in g) fail('factory.generator.apiKey', 'keys never go in a config file (they would reach git): set the environment variable named by apiKeyEnv, or store the key with "Self-Developing: Set LLM API Key"');
    const gkind = oneOf(g.kind, 'factory.generator.kind', ['engine', 'openai'] as const, 'engine');
    let generator: GeneratorConfig;
    if (gkind === 'engine') {
      obj(g, 'factory.generator', ['kind', 'model', 'chat']);
      const model = g.model === undefined ? 'seed' : str(g.model, 'factory.generator.model');
      generator = { kind: 'engine', model: model === 'seed' ? 'seed' : resolve(model), chat: oneOf(g.chat, 'factory.generator.chat', ['auto', 'never'] as const, 'auto') };
    } else {
      obj(g, 'factory.generator', ['kind', 'baseUrl', 'model', 'api', 'concurrency', 'samplesPerRequest', 'timeoutSeconds', 'retries', 'apiKeyEnv']);
      const baseUrl = str(g.baseUrl, 'factory.generator.baseUrl');
      let parsed: URL | undefined;
      try {
        parsed = new URL(baseUrl);
      } catch {
        /* reported below */
      }
      if (!parsed || !/^https?:$/.test(parsed.protocol)) fail('factory.generator.baseUrl', 'expected an http(s) URL such as http://127.0.0.1:8000/v1');
      if (parsed!.username || parsed!.password) fail('factory.generator.baseUrl', 'no credentials in the URL (they would reach git): use apiKeyEnv');
      const apiKeyEnv = g.apiKeyEnv === undefined ? undefined : str(g.apiKeyEnv, 'factory.generator.apiKeyEnv');
      if (apiKeyEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv)) fail('factory.generator.apiKeyEnv', 'expected the name of an environment variable, not a key');
      const d = LLM_FACTORY_DEFAULTS;
      generator = {
        kind: 'openai',
        baseUrl,
        model: str(g.model, 'factory.generator.model'),
        api: oneOf(g.api, 'factory.generator.api', ['chat', 'completions'] as const, 'chat'),
        concurrency: int(g.concurrency, 'factory.generator.concurrency', 1, d.concurrency),
        samplesPerRequest: int(g.samplesPerRequest, 'factory.generator.samplesPerRequest', 1, d.samplesPerRequest),
        timeoutSeconds: num(g.timeoutSeconds, 'factory.generator.timeoutSeconds', 1, 3600, d.timeoutSeconds),
        retries: int(g.retries, 'factory.generator.retries', 0, d.retries),
        ...(apiKeyEnv ? { apiKeyEnv } : {}),
      };
    }
    const stopList = f.stop ?? [];
    if (!Array.isArray(stopList) || !stopList.every((x) => typeof x === 'string' && x)) fail('factory.stop', 'expected a list of non-empty strings');
    return {
      kind,
      generator,
      prompt: f.prompt === undefined ? undefined : resolve(str(f.prompt, 'factory.prompt')),
      workedExample: f.workedExample === undefined ? undefined : resolve(str(f.workedExample, 'factory.workedExample')),
      examples: int(f.examples, 'factory.examples', 0, LLM_FACTORY_DEFAULTS.examples),
      topP: num(f.topP, 'factory.topP', 0.01, 1, LLM_FACTORY_DEFAULTS.topP),
      maxTokens: int(f.maxTokens, 'factory.maxTokens', 16, LLM_FACTORY_DEFAULTS.maxTokens),
      stop: stopList as string[],
      refine: refine(f.refine, generator),
    };
  };
  const refine = (v: unknown, generator: GeneratorConfig): LlmRefineConfig => {
    const d = LLM_REFINE_DEFAULTS;
    const f = 'factory.refine';
    const r = v === undefined ? {} : obj(v, f, [...Object.keys(d), 'baseModel']);
    const targets = r.targetModules ?? d.targetModules;
    if (!(typeof targets === 'string' && targets) && !(Array.isArray(targets) && targets.length && targets.every((x) => typeof x === 'string' && x))) fail(`${f}.targetModules`, 'expected "all-linear" or a list of module names');
    if (r.baseModel !== undefined && generator.kind !== 'openai') fail(`${f}.baseModel`, 'only for an openai generator (an engine generator refines its own model folder)');
    return {
      enabled: bool(r.enabled, `${f}.enabled`, d.enabled),
      beta: num(r.beta, `${f}.beta`, 1e-6, 100, d.beta),
      learningRate: num(r.learningRate, `${f}.learningRate`, 1e-12, 1, d.learningRate),
      epochs: num(r.epochs, `${f}.epochs`, 0.01, 1000, d.epochs),
      batchSize: int(r.batchSize, `${f}.batchSize`, 1, d.batchSize),
      gradientAccumulationSteps: int(r.gradientAccumulationSteps, `${f}.gradientAccumulationSteps`, 1, d.gradientAccumulationSteps),
      loraRank: int(r.loraRank, `${f}.loraRank`, 1, d.loraRank),
      loraAlpha: num(r.loraAlpha, `${f}.loraAlpha`, 1e-6, 1e6, d.loraAlpha),
      loraDropout: num(r.loraDropout, `${f}.loraDropout`, 0, 0.99, d.loraDropout),
      targetModules: targets as string | string[],
      maxLength: int(r.maxLength, `${f}.maxLength`, 16, d.maxLength),
      lossType: oneOf(r.lossType, `${f}.lossType`, ['sigmoid', 'hinge', 'ipo', 'robust'] as const, d.lossType),
      warmupRatio: num(r.warmupRatio, `${f}.warmupRatio`, 0, 1, d.warmupRatio),
      checkpointSteps: int(r.checkpointSteps, `${f}.checkpointSteps`, 1, d.checkpointSteps),
      heldOut: num(r.heldOut, `${f}.heldOut`, 0, 0.9, d.heldOut),
      device: oneOf(r.device, `${f}.device`, ['auto', 'cpu', 'cuda'] as const, d.device),
      ...(r.baseModel !== undefined ? { baseModel: resolve(str(r.baseModel, `${f}.baseModel`)) } : {}),
      publish: oneOf(r.publish, `${f}.publish`, ['model-path'] as const, d.publish),
    };
  };

  // Each value read on its own, so every problem is found (`v(read, placeholder)`).
  const v = part;
  const config: RunConfig = {
    name: v(() => (c.name === undefined ? path.basename(file).replace(/(\.selfdev|\.run)?\.json$/, '') : str(c.name, 'name')), ''),
    seed: v(() => resolve(str(c.seed, 'seed')), ''),
    candidates: v(() => paths(c.candidates, 'candidates', 1), []),
    transfer,
    mergeScope,
    tensorLibrary: v(() => oneOf(c.tensorLibrary, 'tensorLibrary', ['numpy', 'torch'] as const, 'numpy'), 'numpy'),
    benchmarks,
    eval: evalConfig,
    factory: v(factory, { kind: 'grammar' }),
    algorithmsPerIteration: v(() => int(c.algorithmsPerIteration, 'algorithmsPerIteration', 2, 3000), 0),
    iterations: v(() => int(c.iterations, 'iterations', 1, 3), 0),
    temperature: {
      kind: v(() => oneOf(t.kind, 'temperature.kind', ['inverse', 'linear'] as const, DEFAULT_SCHEDULE.kind), DEFAULT_SCHEDULE.kind),
      start: v(() => num(t.start, 'temperature.start', 0.01, 10, DEFAULT_SCHEDULE.start), 0),
      decay: v(() => num(t.decay, 'temperature.decay', 0, 10, DEFAULT_SCHEDULE.decay), 0),
      floor: v(() => (t.floor === undefined ? undefined : num(t.floor, 'temperature.floor', 0.01, 10)), undefined),
    },
    pairs: {
      chosenTop: v(() => num(p.chosenTop, 'pairs.chosenTop', 0, 1, DEFAULT_PAIR_POLICY.chosenTop), 0),
      rejectedBottom: v(() => num(p.rejectedBottom, 'pairs.rejectedBottom', 0, 1, DEFAULT_PAIR_POLICY.rejectedBottom), 0),
      elitism: v(() => int(p.elitism, 'pairs.elitism', 0, DEFAULT_PAIR_POLICY.elitism), 0),
      failedAsRejected: v(() => bool(p.failedAsRejected, 'pairs.failedAsRejected', DEFAULT_PAIR_POLICY.failedAsRejected), false),
      minEach: v(() => int(p.minEach, 'pairs.minEach', 0, DEFAULT_PAIR_POLICY.minEach), 0),
    },
    refinement: {
      beta: v(() => num(r.beta, 'refinement.beta', 1e-6, 100, DEFAULT_REFINE_OPTIONS.beta), 0),
      learningRate: v(() => num(r.learningRate, 'refinement.learningRate', 1e-9, 100, DEFAULT_REFINE_OPTIONS.learningRate), 0),
      steps: v(() => int(r.steps, 'refinement.steps', 0, DEFAULT_REFINE_OPTIONS.steps), 0),
    },
    randomSeed: v(() => int(c.randomSeed, 'randomSeed', 0, 0), 0),
    concurrency: v(() => int(c.concurrency, 'concurrency', 1, 1), 0),
    finalists: v(() => int(c.finalists, 'finalists', 1, 15), 0),
    limits: {
      timeoutSeconds: v(() => num(l.timeoutSeconds, 'limits.timeoutSeconds', 1, 86400, 60), 0),
      memoryMB: v(() => int(l.memoryMB, 'limits.memoryMB', 64, 4096), 0),
    },
    baselines: v(() => bool(c.baselines, 'baselines', true), false),
    randomControl: v(() => bool(c.randomControl, 'randomControl', true), false),
    ...(launcher ? { launcher } : {}),
  };
  if (problems.length) throw RunConfigError.of(file, problems);
  return config;
}

/** Where a field is in the config's text (1-based line and column): its key (an element of a
 * list: the element), or, for a field that is missing, the nearest object that should hold it. */
export function locate(text: string, field: string): { line?: number; column?: number } {
  const root = parseTree(text);
  if (!root) return {};
  const segments: (string | number)[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) segments.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  let node: JsonNode | undefined;
  for (let n = segments.length; n >= 0 && !node; n--) node = findNodeAtLocation(root, segments.slice(0, n));
  if (!node) return {};
  const at = node.parent?.type === 'property' ? node.parent.offset : node.offset;
  return lineColumn(text, at);
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Every syntax error of a text JSON.parse refused, with its place (jsonc-parser in strict mode
 * finds them all; JSON.parse stops at the first). */
function syntaxProblems(text: string, jsonMessage: string): ConfigProblem[] {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (!errors.length) return [{ field: '', problem: `not valid JSON: ${jsonMessage}` }];
  return errors.map((e) => ({
    field: '',
    problem: `not valid JSON: ${printParseErrorCode(e.error).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}`,
    ...lineColumn(text, e.offset),
  }));
}

export const LAUNCHER_FIELDS = ['kind', 'workers', 'partition', 'gpusPerWorker', 'cpusPerWorker', 'memoryMB', 'timeLimit', 'sbatchOptions', 'leaseSeconds', 'advertiseHost', 'listenHost', 'listenPort'] as const;
export const DEFAULT_LEASE_SECONDS = 120;

/**
 * A launcher as a config, a setting or the CLI gives it: "local" (or nothing) for none, or an
 * object {kind: "slurm" | "processes", workers, ...}. Errors name `file` and the field.
 */
export function parseLauncher(v: unknown, file: string, field = 'launcher'): LauncherSpec | undefined {
  const fail = (f: string, problem: string): never => {
    throw new RunConfigError(file, f, problem);
  };
  if (v === undefined || v === null || v === 'local') return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) return fail(field, 'expected "local" or an object such as {"kind": "slurm", "workers": 4, "partition": "gpu"}');
  const o = v as Obj;
  for (const k of Object.keys(o)) if (!(LAUNCHER_FIELDS as readonly string[]).includes(k) && k !== '$comment') fail(`${field}.${k}`, `unknown field (known: ${LAUNCHER_FIELDS.join(', ')})`);
  const kind = o.kind;
  if (kind === 'local') return undefined;
  if (kind !== 'slurm' && kind !== 'processes') return fail(`${field}.kind`, 'expected "slurm", "processes" or "local"');
  const int = (x: unknown, f: string, min: number, max: number, fallback?: number): number | undefined => {
    const y = x ?? fallback;
    if (y === undefined) return undefined;
    if (typeof y !== 'number' || !Number.isInteger(y) || y < min || y > max) fail(`${field}.${f}`, `expected a whole number from ${min} to ${max}`);
    return y as number;
  };
  const text = (x: unknown, f: string, pattern?: RegExp, what?: string): string | undefined => {
    if (x === undefined) return undefined;
    if (typeof x !== 'string' || !x || (pattern && !pattern.test(x))) fail(`${field}.${f}`, what ?? 'expected a non-empty string');
    return x as string;
  };
  const sbatch = o.sbatchOptions;
  if (sbatch !== undefined && !(Array.isArray(sbatch) && sbatch.every((x) => typeof x === 'string' && /^--?[A-Za-z]/.test(x)))) {
    fail(`${field}.sbatchOptions`, 'expected a list of sbatch options, one argument each ("--account=lab", "--qos=short")');
  }
  // Slurm's own options the launcher sets itself cannot be given twice.
  for (const opt of (sbatch as string[] | undefined) ?? []) {
    if (/^--(array|wrap|output|export|parsable|job-name)\b/.test(opt)) fail(`${field}.sbatchOptions`, `${opt.split('=')[0]} is set by the launcher`);
  }
  const lease = o.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (typeof lease !== 'number' || !Number.isFinite(lease) || lease < 1 || lease > 86400) fail(`${field}.leaseSeconds`, 'expected a number of seconds from 1 to 86400');
  const spec: LauncherSpec = {
    kind,
    workers: int(o.workers, 'workers', 1, 10_000)!,
    gpusPerWorker: int(o.gpusPerWorker, 'gpusPerWorker', 0, 64, kind === 'slurm' ? 1 : 0)!,
    leaseSeconds: lease as number,
  };
  if (o.workers === undefined) fail(`${field}.workers`, 'expected the number of workers (one per GPU)');
  const optional = {
    partition: text(o.partition, 'partition', /^[A-Za-z0-9_.,-]+$/, 'expected a partition name'),
    cpusPerWorker: int(o.cpusPerWorker, 'cpusPerWorker', 1, 1024),
    memoryMB: int(o.memoryMB, 'memoryMB', 64, 16 * 2 ** 20),
    timeLimit: text(o.timeLimit, 'timeLimit', /^(\d+-)?\d+(:\d+){0,2}$/, 'expected Slurm\'s time format: "minutes", "HH:MM:SS" or "D-HH:MM"'),
    sbatchOptions: sbatch as string[] | undefined,
    advertiseHost: text(o.advertiseHost, 'advertiseHost', /^[A-Za-z0-9.:_-]+$/, 'expected a host name or address'),
    listenHost: text(o.listenHost, 'listenHost', /^[A-Za-z0-9.:_-]+$/, 'expected an address to listen on'),
    listenPort: int(o.listenPort, 'listenPort', 0, 65535),
  };
  for (const [k, x] of Object.entries(optional)) if (x !== undefined) (spec as unknown as Obj)[k] = x;
  return spec;
}

/** The launcher in force: the CLI's or the setting's when given ("local" turns the config's off), else the config's. */
export function launcherInForce(config: Pick<RunConfig, 'launcher'>, override: LauncherSpec | 'local' | undefined): LauncherSpec | undefined {
  if (override === 'local') return undefined;
  return override ?? config.launcher;
}

export type Split = 'dev' | 'test';

/** The one mapping from a split of the config's benchmarks to the jobs that score it. A dev job
 * keeps the config's devSize; the test split is scored whole. */
export function benchmarkJobs(config: Pick<RunConfig, 'benchmarks' | 'name'>, split: Split): BenchmarkJob[] {
  return Object.entries(config.benchmarks).map(([name, b]) => {
    const file = split === 'dev' ? b.dev : b.test;
    if (!file) throw new Error(`${config.name}: benchmark ${name} has no ${split} split (benchmarks.${name}.test)`);
    return { name, file, kind: b.answer, fewshot: b.fewshot, limit: split === 'dev' ? b.devSize : undefined };
  });
}

/** The prompt and decoding settings every scoring job of the config uses. */
export function scoreSettings(config: Pick<RunConfig, 'eval'>): ScoreSettings {
  const e = config.eval;
  return { format: { prompt: e.prompt, exemplar: e.exemplar, shots: e.shots }, maxNewTokens: e.maxNewTokens, stop: e.stop, bos: e.bos, extraction: e.gsmAnswer };
}

/** A config stored in run.json by an earlier version, with the fields added since at their
 * defaults, so that every run still opens and continues as it ran. */
export function upgradeStoredConfig(config: RunConfig): RunConfig {
  // Runs from before the factory setting were grammar runs; LLM runs stored before refinement
  // existed continue as they ran: not refined.
  let factory: FactoryConfig = config.factory ?? { kind: 'grammar' };
  if (factory.kind === 'llm' && !factory.refine) factory = { ...factory, refine: { ...LLM_REFINE_DEFAULTS, enabled: false } };
  return { ...config, factory, eval: { ...config.eval, gsmAnswer: config.eval?.gsmAnswer ?? 'strict' } };
}
