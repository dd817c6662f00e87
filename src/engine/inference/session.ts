// onnxruntime sessions for decoder graphs. The graph is handed over as bytes and its external
// data locations are relative to the file-system root, with the working directory set to that
// root while the session loads: onnxruntime refuses absolute locations and, for models loaded
// from bytes, locations outside the working directory (checked on this machine, ORT 1.30).
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildDecoderGraph } from '../model/decoderGraph';
import type { HfModel } from '../model/hfModel';
import type { TensorInfo } from '../model/safetensors';
import { usableExecutionProviders } from './providers';

export type ExecutionProvider = 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';

export interface SessionConfig {
  executionProvider?: ExecutionProvider;
  /** Intra-op threads; 0 or undefined lets onnxruntime choose. */
  threads?: number;
  /** Longest prompt + generation the session supports (rotary table size). */
  maxContext?: number;
  /** Weights fed as inputs on every run instead of being initializers (see decoderGraph.ts). */
  weightInputs?: RegExp;
  /** Also output every position's logits (DecoderState's allLogits), for checks against a
   *  reference; generation needs only the last position's and skips the rest. */
  allLogits?: boolean;
}

export interface DecoderSession {
  model: HfModel;
  session: ort.InferenceSession;
  provider: ExecutionProvider;
  /** Why the asked-for provider was not used, when it was not. */
  fallback?: string;
  maxContext: number;
  /** Seconds spent building the graph and creating the session. */
  setupSeconds: number;
  /** Values of the weight inputs, fed on every run; set them before generating. */
  weightFeeds: Record<string, ort.Tensor>;
  release(): Promise<void>;
}

let loading: Promise<unknown> = Promise.resolve();

/** Runs fn with the working directory at root; loads are serialised so cwd changes never overlap. */
async function withCwd<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const run = loading.then(async () => {
    const previous = process.cwd();
    process.chdir(root);
    try {
      return await fn();
    } finally {
      process.chdir(previous);
    }
  });
  loading = run.catch(() => undefined);
  return run;
}


/**
 * Creates a session for `model`, with the tensors of `overlay` (a merged model's scope) taking
 * the place of the seed's. Unchanged weights are read from the seed's own files.
 */
export async function createDecoderSession(model: HfModel, config: SessionConfig = {}, overlay?: Map<string, TensorInfo>): Promise<DecoderSession> {
  const started = performance.now();
  const maxContext = Math.min(config.maxContext ?? 2048, model.config.maxPositionEmbeddings);
  const root = path.parse(model.folder).root;
  const weight = (name: string): TensorInfo => {
    const t = overlay?.get(name) ?? model.tensors.get(name);
    if (!t) throw new Error(`${model.folder}: tensor ${name} is missing`);
    if (path.parse(t.file).root !== root) throw new Error(`${t.file}: weights must be on the same drive as ${model.folder}`);
    return t;
  };
  for (const [name, t] of overlay ?? []) {
    const base = model.tensors.get(name);
    if (!base) throw new Error(`${t.file}: merged tensor ${name} is not a tensor of ${model.folder}`);
    if (base.shape.join(',') !== t.shape.join(',')) throw new Error(`${t.file}: merged tensor ${name} has shape [${t.shape}], the seed's is [${base.shape}]`);
  }
  const graph = buildDecoderGraph(model.config, weight, { maxContext, root, weightInputs: config.weightInputs, allLogits: config.allLogits });

  const wanted = config.executionProvider ?? 'cpu';
  let provider: ExecutionProvider = wanted;
  let fallback: string | undefined;
  if (wanted !== 'cpu' && !usableExecutionProviders().includes(wanted)) {
    fallback = `the ${wanted} execution provider is not available in this onnxruntime installation; using the CPU`;
    provider = 'cpu';
  }
  const options = (p: ExecutionProvider): ort.InferenceSession.SessionOptions => ({
    executionProviders: p === 'cpu' ? ['cpu'] : [p, 'cpu'],
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    ...(config.threads && config.threads > 0 ? { intraOpNumThreads: config.threads } : {}),
  });
  let session: ort.InferenceSession;
  try {
    session = await withCwd(root, () => ort.InferenceSession.create(graph, options(provider)));
  } catch (err) {
    if (provider === 'cpu') throw err;
    fallback = `the ${provider} execution provider failed to start (${(err as Error).message.split('\n')[0]}); using the CPU`;
    provider = 'cpu';
    session = await withCwd(root, () => ort.InferenceSession.create(graph, options('cpu')));
  }
  return {
    model,
    session,
    provider,
    fallback,
    maxContext,
    setupSeconds: (performance.now() - started) / 1000,
    weightFeeds: {},
    release: () => session.release(),
  };
}
