// The fields of a Hugging Face config.json that the engine needs, validated, with the defaults
// of the transformers classes it supports. Anything it cannot run is an error that names it.
import { ModelError } from './errors';

export type Architecture = 'llama' | 'mistral' | 'qwen2';

export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface DecoderConfig {
  architecture: Architecture;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling?: Llama3RopeScaling;
  vocabSize: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections have biases (Qwen2 always; Llama when attention_bias). */
  qkvBias: boolean;
  /** o_proj has a bias too (Llama attention_bias). */
  oBias: boolean;
  mlpBias: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
  slidingWindow?: number;
}

const ARCHITECTURES: Record<string, Architecture> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
};

export function parseDecoderConfig(file: string, json: unknown): DecoderConfig {
  if (typeof json !== 'object' || json === null) throw new ModelError(file, 'expected a JSON object');
  const c = json as Record<string, unknown>;
  const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]) : [];
  const archName = archs.find((a): a is string => typeof a === 'string' && a in ARCHITECTURES);
  if (!archName) {
    throw new ModelError(file, `unsupported architecture ${JSON.stringify(c.architectures ?? c.model_type)}; supported: ${Object.keys(ARCHITECTURES).join(', ')}`);
  }
  const architecture = ARCHITECTURES[archName];
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ModelError(file, `field "${key}" must be a positive integer, got ${JSON.stringify(c[key])}`);
    return v;
  };
  const num = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelError(file, `field "${key}" must be a number, got ${JSON.stringify(c[key])}`);
    return v;
  };
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ModelError(file, `field "hidden_act" is "${String(act)}"; only "silu" is supported`);

  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  const headDim = typeof c.head_dim === 'number' ? int('head_dim') : hiddenSize / numHeads;
  if (!Number.isInteger(headDim)) throw new ModelError(file, `hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  if (numHeads % numKvHeads !== 0) throw new ModelError(file, `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  if (headDim % 2 !== 0) throw new ModelError(file, `head dimension ${headDim} must be even for rotary embeddings`);

  const attentionBias = c.attention_bias === true;
  const eos = c.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((e): e is number => typeof e === 'number') : typeof eos === 'number' ? [eos] : [];
  const sliding = architecture === 'qwen2' ? (c.use_sliding_window === true ? c.sliding_window : undefined) : c.sliding_window;

  return {
    architecture,
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    ropeScaling: parseRopeScaling(file, c.rope_scaling),
    vocabSize: int('vocab_size'),
    maxPositionEmbeddings: int('max_position_embeddings', 2048),
    tieWordEmbeddings: c.tie_word_embeddings === true,
    qkvBias: architecture === 'qwen2' || attentionBias,
    oBias: architecture !== 'qwen2' && attentionBias,
    mlpBias: c.mlp_bias === true,
    bosTokenId: typeof c.bos_token_id === 'number' ? c.bos_token_id : undefined,
    eosTokenIds,
    slidingWindow: typeof sliding === 'number' ? sliding : undefined,
  };
}

function parseRopeScaling(file: string, raw: unknown): Llama3RopeScaling | undefined {
  if (raw === undefined || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return undefined;
  if (type !== 'llama3') throw new ModelError(file, `rope_scaling type "${String(type)}" is not supported (supported: llama3)`);
  const need = (k: string): number => {
    if (typeof r[k] !== 'number') throw new ModelError(file, `rope_scaling.${k} must be a number`);
    return r[k] as number;
  };
  return {
    factor: need('factor'),
    lowFreqFactor: need('low_freq_factor'),
    highFreqFactor: need('high_freq_factor'),
    originalMaxPositionEmbeddings: need('original_max_position_embeddings'),
  };
}
