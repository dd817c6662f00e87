// Builds the ONNX graph of a Llama-family decoder (Llama, Mistral, Qwen2) with a KV cache.
// Weights are external data pointing into the safetensors files, so nothing is copied; a merged
// model is the same graph with the merge scope's initializers pointing into another file.
//
// Inputs:  input_ids [B,S] int64, attention_mask [B,P+S] int64 (0 = padding),
//          position_ids [B,S] int64, past.{l}.key / past.{l}.value [B,kvH,P,hd]
// Outputs: logits [B,S,V], last_logits [B,V] (the last position only: what generation needs),
//          present.{l}.key / present.{l}.value [B,kvH,P+S,hd]
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
  const rmsNorm = (x: string, name: string): string =>
    g.op('SimplifiedLayerNormalization', [x, w(name)], { axis: -1, epsilon: floatAttr(c.rmsNormEps) });

  // Shapes shared by all layers.
  const shapeBS = g.op('Shape', ['input_ids']);
  const S = g.op('Gather', [shapeBS, g.int64(1)], { axis: 0 });
  const P = g.op('Gather', [g.op('Shape', [pastName(0, 'key')]), g.int64(2)], { axis: 0 });
  const T = g.op('Add', [P, S]);
  const qShape = g.op('Concat', [shapeBS, g.int64([H, hd])], { axis: 0 });
  const kvShape = g.op('Concat', [shapeBS, g.int64([KV, hd])], { axis: 0 });

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
  const sin = rot(tables.sin, 'rope_sin');
  const halves = g.int64([hd / 2, hd / 2]);
  const rotate = (x: string): string => {
    const [x1, x2] = g.opN('Split', [x, halves], 2, { axis: -1 });
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  };
  const toHeads = (x: string, shape: string) => g.op('Transpose', [g.op('Reshape', [x, shape])], { perm: [0, 2, 1, 3] });
  const repeatKv = (x: string): string =>
    KV === H ? x : g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [x, g.int64([2])]), g.int64([1, 1, H / KV, 1, 1])]), g.int64([0, H, -1, hd])]);
  const scale = g.float32(1 / Math.sqrt(hd));
  const flatHidden = g.int64([-1, H * hd]);

  let x = g.op('Gather', [w('model.embed_tokens.weight'), g.op('Reshape', ['input_ids', g.int64([-1])])], { axis: 0 });
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const h = rmsNorm(x, `${p}.input_layernorm.weight`);
    const q = rotate(toHeads(linear(h, `${p}.self_attn.q_proj`, c.qkvBias), qShape));
    const k = rotate(toHeads(linear(h, `${p}.self_attn.k_proj`, c.qkvBias), kvShape));
    const v = toHeads(linear(h, `${p}.self_attn.v_proj`, c.qkvBias), kvShape);
    const presentK = g.op('Concat', [pastName(l, 'key'), k], { axis: 2 }, { output: presentName(l, 'key') });
    const presentV = g.op('Concat', [pastName(l, 'value'), v], { axis: 2 }, { output: presentName(l, 'value') });
    const scores = g.op('MatMul', [g.op('Mul', [q, scale]), g.op('Transpose', [repeatKv(presentK)], { perm: [0, 1, 3, 2] })]);
    const probs = g.op('Softmax', [g.op('Add', [scores, mask])], { axis: -1 });
    const attn = g.op('Transpose', [g.op('MatMul', [probs, repeatKv(presentV)])], { perm: [0, 2, 1, 3] });
    x = g.op('Add', [x, linear(g.op('Reshape', [attn, flatHidden]), `${p}.self_attn.o_proj`, c.oBias)]);

    const h2 = rmsNorm(x, `${p}.post_attention_layernorm.weight`);
    const gate = linear(h2, `${p}.mlp.gate_proj`, c.mlpBias);
    const up = linear(h2, `${p}.mlp.up_proj`, c.mlpBias);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x, linear(act, `${p}.mlp.down_proj`, c.mlpBias)]);
  }
  const xn = rmsNorm(x, 'model.norm.weight');
  const head = w(c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  const logitsShape = g.op('Concat', [shapeBS, g.int64([c.vocabSize])], { axis: 0 });
  g.op('Reshape', [g.op('Gemm', [xn, head], { transB: 1 }), logitsShape], undefined, { output: 'logits' });
  const hiddenShape = g.op('Concat', [shapeBS, g.int64([c.hiddenSize])], { axis: 0 });
  const last = g.op('Gather', [g.op('Reshape', [xn, hiddenShape]), g.int64(-1)], { axis: 1 });
  g.op('Gemm', [last, head], { transB: 1 }, { output: 'last_logits' });

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
        { name: 'logits', dataType: DataType.FLOAT, shape: ['batch', 'seq', c.vocabSize] },
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
