// The ONNX graph against Hugging Face transformers: logits within 1e-4 in fp32, for prompts of
// several lengths, batched with left padding, and with the KV cache across steps.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { DecoderState } from '../../src/engine/inference/decoderState';
import { createDecoderSession, type DecoderSession } from '../../src/engine/inference/session';
import { openHfModel } from '../../src/engine/model/hfModel';
import * as ort from 'onnxruntime-node';
import { readSafetensorsHeader, readTensorBytes } from '../../src/engine/model/safetensors';
import { demoModel, runFixtureScript } from './support/python';
import type { LogitsReference } from './support/python';

type Reference = LogitsReference;

const TOLERANCE = 1e-4;
let refs: Record<string, Reference>;

function maxDiff(got: Float32Array, gotOffset: number, want: number[], wantOffset: number, n: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[gotOffset + i] - want[wantOffset + i]));
  return worst;
}

async function sessionFor(name: string, allLogits: boolean): Promise<DecoderSession> {
  const ref = refs[name];
  if (ref.overlay) {
    const seed = await openHfModel(ref.seed!);
    return createDecoderSession(seed, { maxContext: 64, allLogits }, await readSafetensorsHeader(ref.overlay));
  }
  return createDecoderSession(await openHfModel(ref.folder), { maxContext: 64, allLogits });
}

async function checkModel(name: string): Promise<void> {
  const ref = refs[name];
  const V = ref.vocab;
  const ds = await sessionFor(name, true);
  // What generation runs: the graph without every position's logits.
  const prod = await sessionFor(name, false);
  try {
    for (const c of ref.cases) {
      const { state, out } = await DecoderState.prefill(ds, [c.ids], 0, true);
      state.dispose();
      const d = maxDiff(out.logits!, 0, c.logits, 0, c.ids.length * V);
      assert.ok(d < TOLERANCE, `${name}: prompt of ${c.ids.length} tokens differs by ${d}`);
    }
    // All prompts in one left-padded batch.
    const len = Math.max(...ref.cases.map((c) => c.ids.length));
    const { state, out } = await DecoderState.prefill(ds, ref.cases.map((c) => c.ids), 0, true);
    state.dispose();
    ref.cases.forEach((c, b) => {
      const d = maxDiff(out.logits!, (b * len + len - c.ids.length) * V, c.logits, 0, c.ids.length * V);
      assert.ok(d < TOLERANCE, `${name}: batched row ${b} differs by ${d}`);
    });
    // Generation's graph: the last position of each left-padded row.
    const last = await DecoderState.prefill(prod, ref.cases.map((c) => c.ids), 0);
    last.state.dispose();
    ref.cases.forEach((c, b) => {
      const d = maxDiff(last.out.lastLogits, b * V, c.logits, (c.ids.length - 1) * V, V);
      assert.ok(d < TOLERANCE, `${name}: last logits of batched row ${b} differ by ${d}`);
    });
    await assert.rejects(DecoderState.prefill(prod, [ref.cases[0].ids], 0, true), /without allLogits/);
    // The KV cache: a prompt of 3 tokens, then one token per step.
    const long = ref.cases[ref.cases.length - 1];
    const start = await DecoderState.prefill(prod, [long.ids.slice(0, 3)], 0);
    for (let i = 3; i < long.ids.length; i++) {
      const step = await start.state.step([long.ids[i]]);
      const d = maxDiff(step.lastLogits, 0, long.logits, i * V, V);
      assert.ok(d < TOLERANCE, `${name}: cached step ${i} differs by ${d}`);
    }
    start.state.dispose();
  } finally {
    await ds.release();
    await prod.release();
  }
}

describe('decoder graph vs transformers', () => {
  before(() => {
    const out = runFixtureScript(path.join('engine', 'make_reference.py'), '--demo', demoModel('seed'), demoModel('cand-mul'));
    refs = JSON.parse(readFileSync(path.join(out, 'reference.json'), 'utf8')) as Record<string, Reference>;
  });

  for (const [name, what] of [
    ['llama', 'LlamaForCausalLM with grouped-query attention'],
    ['llama-mha-tied', 'Llama with tied embeddings and Llama 3 rope scaling'],
    ['llama-bf16', 'Llama stored in bfloat16'],
    ['llama-f16-sharded', 'Llama in float16, sharded with an index'],
    ['mistral', 'MistralForCausalLM'],
    ['qwen2', 'Qwen2ForCausalLM with q/k/v biases'],
    ['demo-seed', 'the demo seed model'],
    ['demo-merged', 'a merged demo model: seed files plus an overlay of the merge scope'],
  ] as const) {
    it(`matches for ${what}`, () => checkModel(name));
  }

  it('matches with weights fed as graph inputs (a merged model swapped into one session)', async () => {
    // The MLP (the merge scope) and q_proj as inputs: the projections of a layer then run as a
    // Gemm each instead of one fused Gemm, and q's score scale is applied to its output.
    const ref = refs['demo-merged'];
    const seed = await openHfModel(ref.seed!);
    const overlay = await readSafetensorsHeader(ref.overlay!);
    const scope = /(\.mlp\.(gate|up|down)_proj|self_attn\.q_proj)\.weight$/;
    const ds = await createDecoderSession(seed, { maxContext: 64, weightInputs: scope });
    try {
      const inputs = ds.session.inputNames.filter((n) => scope.test(n));
      assert.equal(inputs.length, 4 * seed.config.numLayers);
      for (const name of inputs) {
        const t = overlay.get(name) ?? seed.tensors.get(name)!;
        const bytes = await readTensorBytes(t);
        ds.weightFeeds[name] = new ort.Tensor('float32', new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), t.shape);
      }
      const V = ref.vocab;
      const { state, out } = await DecoderState.prefill(ds, ref.cases.map((c) => c.ids), 0);
      state.dispose();
      ref.cases.forEach((c, b) => {
        const d = maxDiff(out.lastLogits, b * V, c.logits, (c.ids.length - 1) * V, V);
        assert.ok(d < TOLERANCE, `row ${b}: last logits differ from transformers' merged model by ${d}`);
      });
    } finally {
      await ds.release();
    }
  });

  it('reads a sharded checkpoint from all its shards', async () => {
    const m = await openHfModel(refs['llama-f16-sharded'].folder);
    const files = new Set([...m.tensors.values()].map((t) => path.basename(t.file)));
    assert.ok(files.size > 1, `expected several shards, got ${[...files]}`);
  });

  it('refuses an overlay tensor whose shape differs from the seed', async () => {
    const seed = await openHfModel(refs['llama'].folder);
    const overlay = await readSafetensorsHeader(refs['demo-merged'].overlay!);
    await assert.rejects(createDecoderSession(seed, {}, overlay), /merged tensor .* has shape/);
  });
});
