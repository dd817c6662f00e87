// Builds the ONNX graph of a Llama-family decoder (Llama, Mistral, Qwen2) with a KV cache.
// Weights are external data pointing into the safetensors files, so nothing is copied; a merged
// model is the same graph with the merge scope's initializers pointing into another file.
//
// Inputs:  input_ids [B,S] int64, attention_mask [B,P+S] int64 (0 = padding),
//          position_ids [B,S] int64, past.{l}.key / past.{l}.value [B,kvH,P,hd]
// Outputs: last_logits [B,V] (the last position only: what generation needs), logits [B,S,V]
//          (every position; only in a graph built with allLogits, since onnxruntime runs every
//          node of a graph whichever outputs are fetched), present.{l}.key / .value [B,kvH,P+S,hd]
import * as path from 'node:path';
import { GraphBuilder } from '../onnx/graphBuilder';
import { DataType, encodeModel, floatAttr, type Model, type ValueInfo } from '../onnx/onnxModel';
import type { DecoderConfig } from './hfConfig';
import { rotaryTables } from './rotary';
import type { TensorInfo } from './safetensors';

export interface GraphOptions {
  /** Longest sequence (prompt + generated) the rotary tables cover. */
  maxContext: number;
  /** Files' external-data locations are written relative to this folder (see session.ts). */
  root: string;
  /**
   * Weights that become graph inputs instead of initializers, so one session can score many
   * merged models by feeding them (at the cost of onnxruntime's weight pre-packing).
   */
  weightInputs?: RegExp;
  /** Adds the `logits` output (every position), for checks against a reference. */
  allLogits?: boolean;
}

const ONNX_DTYPE = { F32: DataType.FLOAT, F16: DataType.FLOAT16, BF16: DataType.BFLOAT16 } as const;

export function pastName(layer: number, kind: 'key' | 'value'): string {
  return `past.${layer}.${kind}`;
}
export function presentName(layer: number, kind: 'key' | 'value'): string {
  return `present.${layer}.${kind}`;
}

export function buildDecoderGraph(c: DecoderConfig, weight: (name: string) => TensorInfo, opts: GraphOptions): Uint8Array {
  const g = new GraphBuilder();
  const H = c.numHeads;
  const KV = c.numKvHeads;
  const hd = c.headDim;

  const weights = new Map<string, string>();
  const weightInputs: ValueInfo[] = [];
  const w = (name: string): string => {
    const known = weights.get(name);
    if (known) return known;
    const t = weight(name);
    if (opts.weightInputs?.test(name)) {
      if (t.dtype !== 'F32') throw new Error(`${t.file}: weight inputs must be float32, ${name} is ${t.dtype}`);
      weightInputs.push({ name, dataType: DataType.FLOAT, shape: t.shape });
      weights.set(name, name);
      return name;
    }
    const location = path.relative(opts.root, t.file);
    const dtype = ONNX_DTYPE[t.dtype as keyof typeof ONNX_DTYPE];
    if (dtype === undefined) throw new Error(`${t.file}: tensor ${name} has dtype ${t.dtype}`);
    g.external({ name, dataType: dtype, dims: t.shape, external: { location, offset: t.offset, length: t.length } });
    // Half-precision weights are widened once, when onnxruntime folds constants at load time.
    const value = dtype === DataType.FLOAT ? name : g.op('Cast', [name], { to: DataType.FLOAT }, { name: `${name}/f32` });
    weights.set(name, value);
    return value;
  };
  const linear = (x: string, prefix: string, bias: boolean): string =>
    g.op('Gemm', bias ? [x, w(`${prefix}.weight`), w(`${prefix}.bias`)] : [x, w(`${prefix}.weight`)], { transB: 1 });
  /**
   * Several projections of one input as one Gemm whose output is their outputs side by side
   * ([rows, sum of outs]): fewer, larger matrix products. The weights are concatenated by a
   * Concat of initializers that onnxruntime folds once at load; weights fed as inputs keep a
   * Gemm each (a Concat of inputs would run every step), joined by a Concat of activations.
   * `scales[i]` multiplies projection i (folded into its weight and bias too).
   */
  const projections = (x: string, prefixes: string[], bias: boolean, scales: (string | undefined)[] = []): string => {
    const scaled = (v: string, i: number) => (scales[i] ? g.op('Mul', [v, scales[i]!]) : v);
    if (prefixes.some((pr) => opts.weightInputs?.test(`${pr}.weight`) || (bias && opts.weightInputs?.test(`${pr}.bias`)))) {
      return g.op('Concat', prefixes.map((pr, i) => scaled(linear(x, pr, bias), i)), { axis: -1 });
    }
    const joined = (suffix: string, axis: number) => g.op('Concat', prefixes.map((pr, i) => scaled(w(`${pr}.${suffix}`), i)), { axis });
    return g.op('Gemm', bias ? [x, joined('weight', 0), joined('bias', 0)] : [x, joined('weight', 0)], { transB: 1 });
  };
  const rmsNorm = (x: string, name: string): string =>
    g.op('SimplifiedLayerNormalization', [x, w(name)], { axis: -1, epsilon: floatAttr(c.rmsNormEps) });

  // Shapes shared by all layers.
  const shapeBS = g.op('Shape', ['input_ids']);
  const S = g.op('Gather', [shapeBS, g.int64(1)], { axis: 0 });
  const P = g.op('Gather', [g.op('Shape', [pastName(0, 'key')]), g.int64(2)], { axis: 0 });
  const T = g.op('Add', [P, S]);

  // Additive attention mask [B,1,S,T]: causal, and padding from attention_mask.
  const one = g.int64(1);
  const qPos = g.op('Range', [P, T, one]);
  const kPos = g.op('Range', [g.int64(0), T, one]);
  const causal = g.op('LessOrEqual', [g.op('Unsqueeze', [kPos, g.int64([0])]), g.op('Unsqueeze', [qPos, g.int64([1])])]);
  const notPad = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: DataType.BOOL }), g.int64([1, 2])]);
  const allowed = g.op('And', [causal, notPad]);
  const mask = g.op('Where', [allowed, g.float32(0), g.float32(-1e9)]);

  // Rotary tables gathered at the positions: [B,1,S,hd].
  const tables = rotaryTables(c, opts.maxContext);
  const rot = (table: Float32Array, hint: string) =>
    g.op('Unsqueeze', [g.op('Gather', [g.float32(table, [opts.maxContext, hd], hint), 'position_ids'], { axis: 0 }), g.int64([1])]);
  const cos = rot(tables.cos, 'rope_cos');
  // rotate_half(x) * sin = [x2, x1] * [-sin1, sin2]: the sign lives in the table, not in a Neg.
  const sinSigned = rot(tables.sin.map((v, i) => (i % hd < hd / 2 ? -v : v)), 'rope_sin');
  const halves = g.int64([hd / 2, hd / 2]);
  const rotate = (x: string): string => {
    const [x1, x2] = g.opN('Split', [x, halves], 2, { axis: -1 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [g.op('Concat', [x2, x1], { axis: -1 }), sinSigned])]);
  };
  // Grouped-query attention without repeating the cache: the G = H/KV query heads that share a
  // KV head are stacked as rows, [B,KV,G*S,hd], so each KV head's cache is read once, in place.
  const grouped = g.int64([0, KV, -1, hd]);
  const perHead = g.int64([0, H, -1, hd]);
  const B1 = g.op('Slice', [shapeBS, g.int64([0]), g.int64([1])]);
  const S1 = g.op('Slice', [shapeBS, g.int64([1]), g.int64([2])]);
  const scoreGroups = g.op('Concat', [B1, g.int64([KV, H / KV]), S1, g.int64([-1])], { axis: 0 }); // [B,KV,G,S,T]
  const scoreRows = g.op('Concat', [B1, g.int64([KV, -1]), g.op('Unsqueeze', [T, g.int64([0])])], { axis: 0 }); // [B,KV,G*S,T]
  const maskGroups = g.op('Unsqueeze', [mask, g.int64([1])]);
  const scale = g.float32(1 / Math.sqrt(hd));
  const flatHidden = g.int64([-1, H * hd]);
  // q, k and v of all heads side by side, as heads: [B,S,H+2KV,hd] -> [B,H+2KV,S,hd].
  const qkvShape = g.op('Concat', [shapeBS, g.int64([H + 2 * KV, hd])], { axis: 0 });
  const qkSplit = g.int64([H + KV, KV]);
  const qSplit = g.int64([H, KV]);
  const mlpSplit = g.int64([c.intermediateSize, c.intermediateSize]);

  let x = g.op('Gather', [w('model.embed_tokens.weight'), g.op('Reshape', ['input_ids', g.int64([-1])])], { axis: 0 });
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const h = rmsNorm(x, `${p}.input_layernorm.weight`);
    // The score scale 1/sqrt(hd) is folded into q's weights (rotation is linear, so it commutes).
    const qkv = projections(h, ['q_proj', 'k_proj', 'v_proj'].map((n) => `${p}.self_attn.${n}`), c.qkvBias, [scale]);
    const [qk, v] = g.opN('Split', [g.op('Transpose', [g.op('Reshape', [qkv, qkvShape])], { perm: [0, 2, 1, 3] }), qkSplit], 2, { axis: 1 });
    const [q, k] = g.opN('Split', [rotate(qk), qSplit], 2, { axis: 1 });
    const presentK = g.op('Concat', [pastName(l, 'key'), k], { axis: 2 }, { output: presentName(l, 'key') });
    const presentV = g.op('Concat', [pastName(l, 'value'), v], { axis: 2 }, { output: presentName(l, 'value') });
    const qg = g.op('Reshape', [q, grouped]);
    const scores = g.op('Reshape', [g.op('MatMul', [qg, g.op('Transpose', [presentK], { perm: [0, 1, 3, 2] })]), scoreGroups]);
    const probs = g.op('Reshape', [g.op('Softmax', [g.op('Add', [scores, maskGroups])], { axis: -1 }), scoreRows]);
    const attn = g.op('Transpose', [g.op('Reshape', [g.op('MatMul', [probs, presentV]), perHead])], { perm: [0, 2, 1, 3] });
    x = g.op('Add', [x, linear(g.op('Reshape', [attn, flatHidden]), `${p}.self_attn.o_proj`, c.oBias)]);

    const h2 = rmsNorm(x, `${p}.post_attention_layernorm.weight`);
    const [gate, up] = g.opN('Split', [projections(h2, [`${p}.mlp.gate_proj`, `${p}.mlp.up_proj`], c.mlpBias), mlpSplit], 2, { axis: -1 });
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x, linear(act, `${p}.mlp.down_proj`, c.mlpBias)]);
  }
  const xn = rmsNorm(x, 'model.norm.weight');
  const head = w(c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  if (opts.allLogits) {
    const logitsShape = g.op('Concat', [shapeBS, g.int64([c.vocabSize])], { axis: 0 });
    const logits = g.op('Reshape', [g.op('Gemm', [xn, head], { transB: 1 }), logitsShape], undefined, { output: 'logits' });
    g.op('Gather', [logits, g.int64(-1)], { axis: 1 }, { output: 'last_logits' });
  } else {
    const hiddenShape = g.op('Concat', [shapeBS, g.int64([c.hiddenSize])], { axis: 0 });
    const last = g.op('Gather', [g.op('Reshape', [xn, hiddenShape]), g.int64(-1)], { axis: 1 });
    g.op('Gemm', [last, head], { transB: 1 }, { output: 'last_logits' });
  }

  const kvDims = (name: string) => ['batch', KV, name, hd];
  const model: Model = {
    producer: 'selfdev',
    opsets: [{ domain: '', version: 17 }],
    graph: {
      name: `${c.architecture}_decoder`,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [
        { name: 'input_ids', dataType: DataType.INT64, shape: ['batch', 'seq'] },
        { name: 'attention_mask', dataType: DataType.INT64, shape: ['batch', 'total'] },
        { name: 'position_ids', dataType: DataType.INT64, shape: ['batch', 'seq'] },
        ...Array.from({ length: c.numLayers }, (_, l) => [
          { name: pastName(l, 'key'), dataType: DataType.FLOAT, shape: kvDims('past') },
          { name: pastName(l, 'value'), dataType: DataType.FLOAT, shape: kvDims('past') },
        ]).flat(),
        ...weightInputs,
      ],
      outputs: [
        ...(opts.allLogits ? [{ name: 'logits', dataType: DataType.FLOAT, shape: ['batch', 'seq', c.vocabSize] }] : []),
        { name: 'last_logits', dataType: DataType.FLOAT, shape: ['batch', c.vocabSize] },
        ...Array.from({ length: c.numLayers }, (_, l) => [
          { name: presentName(l, 'key'), dataType: DataType.FLOAT, shape: kvDims('total') },
          { name: presentName(l, 'value'), dataType: DataType.FLOAT, shape: kvDims('total') },
        ]).flat(),
      ],
    },
  };
  return encodeModel(model);
}
