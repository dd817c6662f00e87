// Decode benchmark (npm run bench), one thread on every side, measured side by side in one run:
// 1. this machine's matmul rate: onnxruntime's MLAS on a constant [K,N] weight, as the engine's
//    projections use it, at a large batch (its peak) and at the decode batch;
// 2. the engine's decode steps in GFLOP/s (the projections, the LM head and attention over the
//    cache, counted per row) as a share of that peak, on the demo seed and on a 25 M-parameter
//    random Llama (test/fixtures/engine/make_sharded.py: hidden 512, 8 layers, 8 heads, 2 KV
//    heads, vocabulary 8,000);
// 3. the engine's batched greedy generation against transformers' batched `generate` on the 25 M
//    model: the same 32 prompts, 64 new tokens each, tokens per second and the completions that
//    agree. Exits non-zero on errors only, never on slowness.
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DecoderState } from '../../src/engine/inference/decoderState';
import { generate } from '../../src/engine/inference/generate';
import { createDecoderSession, type DecoderSession } from '../../src/engine/inference/session';
import type { DecoderConfig } from '../../src/engine/model/hfConfig';
import { openHfModel } from '../../src/engine/model/hfModel';
import type { TextTokenizer } from '../../src/engine/model/tokenizer';
import { GraphBuilder } from '../../src/engine/onnx/graphBuilder';
import { DataType, encodeModel } from '../../src/engine/onnx/onnxModel';
import { repoRoot } from '../harness/paths';
import { PYTHON, runFixtureScript } from '../unit/support/python';

const ROWS = 32;
const PROMPT = 24;
const STEPS = 64;
const ROUNDS = 3;

/** GFLOP/s of Y = X W^T with W a constant [N,K] (prepacked, as the engine's Gemm weights). */
async function matmulRate(m: number, k: number, n: number): Promise<number> {
  const g = new GraphBuilder();
  const w = g.float32(Float32Array.from({ length: n * k }, (_, i) => Math.sin(i) * 0.01), [n, k], 'w');
  g.op('Gemm', ['x', w], { transB: 1 }, { output: 'y' });
  const bytes = encodeModel({
    producer: 'bench', opsets: [{ domain: '', version: 17 }],
    graph: { name: 'mm', nodes: g.nodes, initializers: g.initializers,
      inputs: [{ name: 'x', dataType: DataType.FLOAT, shape: [m, k] }], outputs: [{ name: 'y', dataType: DataType.FLOAT, shape: [m, n] }] },
  });
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const x = new ort.Tensor('float32', Float32Array.from({ length: m * k }, (_, i) => Math.cos(i)), [m, k]);
  for (let i = 0; i < 3; i++) await s.run({ x });
  let runs = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1500) {
    await s.run({ x });
    runs++;
  }
  const seconds = (performance.now() - t0) / 1000;
  await s.release();
  return (2 * m * k * n * runs) / seconds / 1e9;
}

/** Multiply-adds per row per decode step, times 2: projections and LM head, and attention over a
 * cache of `t` positions (scores and the weighted sum). */
function flopsPerRow(c: DecoderConfig, t: number): number {
  const hd = c.headDim;
  const proj = c.hiddenSize * hd * (2 * c.numHeads + 2 * c.numKvHeads) + 3 * c.hiddenSize * c.intermediateSize;
  return 2 * (c.numLayers * (proj + 2 * t * c.numHeads * hd) + c.hiddenSize * c.vocabSize);
}

function prompts(vocab: number): number[][] {
  let s = 12345;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length: ROWS }, () => Array.from({ length: PROMPT }, () => 3 + (next() % (vocab - 3))));
}

async function decodeRate(ds: DecoderSession): Promise<{ gflops: number; msPerStep: number }> {
  const c = ds.model.config;
  const ps = prompts(c.vocabSize);
  let best = Infinity;
  let flops = 0;
  for (let round = 0; round < ROUNDS; round++) { // the best round (the first also warms the session up)
    const { state } = await DecoderState.prefill(ds, ps, 0);
    let seconds = 0;
    flops = 0;
    for (let i = 0; i < STEPS; i++) {
      const t0 = performance.now();
      await state.step(ps.map((p) => p[i % PROMPT]));
      seconds += (performance.now() - t0) / 1000;
      flops += ROWS * flopsPerRow(c, PROMPT + i + 1);
    }
    state.dispose();
    best = Math.min(best, seconds);
  }
  return { gflops: flops / best / 1e9, msPerStep: (best * 1000) / STEPS };
}

/** Token ids as text: the random model has no tokenizer, and no stop string is used. */
const idsOnly: TextTokenizer = { encode: () => [], decode: (ids) => ids.join(' '), tokenId: () => undefined, maxId: 1 << 30, config: {} };

async function versusTransformers(folder: string, ds: DecoderSession): Promise<void> {
  const ps = prompts(ds.model.config.vocabSize);
  const opts = { maxNewTokens: STEPS, stop: [], eosTokenIds: [-1], batchSize: ROWS };
  await generate(ds, idsOnly, ps.slice(0, 4), { ...opts, maxNewTokens: 4 });
  const script = path.join(repoRoot, 'test', 'fixtures', 'engine', 'hf_generate.py');
  let ours = Infinity;
  let theirs = Infinity;
  let same = 0;
  for (let round = 0; round < ROUNDS; round++) { // interleaved, the best of each side
    const hf = JSON.parse(execFileSync(PYTHON, [script, folder, String(STEPS)], {
      input: JSON.stringify(ps), encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', OMP_NUM_THREADS: '1' },
    })) as { seconds: number; tokens: number[][] };
    const g = await generate(ds, idsOnly, ps, opts);
    ours = Math.min(ours, g.stats.seconds);
    theirs = Math.min(theirs, hf.seconds);
    same = g.outputs.filter((o, i) => o.tokens.join(',') === hf.tokens[i].join(',')).length;
  }
  const total = ROWS * STEPS;
  console.log('   engine (prefill and %d steps): %s tokens/s; transformers generate: %s tokens/s; ratio %sx (goal at least 2x)',
    STEPS, (total / ours).toFixed(0), (total / theirs).toFixed(0), (theirs / ours).toFixed(2));
  console.log('   identical greedy completions: %d of %d (float rounding can flip a near-tie of a random model)', same, ROWS);
}

async function main(): Promise<void> {
  console.log(`decode benchmark on ${os.cpus()[0]?.model ?? 'a CPU'}, one thread, ${ROWS} rows, prompts of ${PROMPT}, ${STEPS} steps`);
  // This machine's rate drifts (shared cores): the peak is the best of measurements taken
  // before and after each model's, so a share is never flattered by a slow moment.
  const rates: number[] = [];
  const measurePeak = async () => rates.push(await matmulRate(256, 512, 1536), await matmulRate(ROWS, 512, 1536));
  await measurePeak();
  const big = path.join(runFixtureScript(path.join('engine', 'make_sharded.py')), 'sharded');
  const models: [string, string][] = [['demo seed', path.join(repoRoot, 'resources', 'demo', 'models', 'seed')], ['25 M Llama', big]];
  const decoded: [string, { gflops: number; msPerStep: number }][] = [];
  let bigSession: DecoderSession | undefined;
  for (const [name, folder] of models) {
    const ds = await createDecoderSession(await openHfModel(folder), { maxContext: 256, threads: 1 });
    decoded.push([name, await decodeRate(ds)]);
    await measurePeak();
    if (folder === big) bigSession = ds;
    else await ds.release();
  }
  const peak = Math.max(...rates);
  console.log('1. matmul (onnxruntime, one thread, [256 or %d rows] x [512 x 1536]): best %s GFLOP/s, measured %s', ROWS, peak.toFixed(1), rates.map((r) => r.toFixed(0)).join(', '));
  console.log('2. decode steps');
  for (const [name, r] of decoded) {
    console.log('   %s: %s ms a step, %s GFLOP/s, %s%% of the matmul peak%s', name.padEnd(10), r.msPerStep.toFixed(2), r.gflops.toFixed(1),
      ((100 * r.gflops) / peak).toFixed(0), name === '25 M Llama' ? ' (goal at least 40%)' : '');
  }
  console.log('3. the engine against transformers on the 25 M Llama (%d interleaved rounds, the best of each)', ROUNDS);
  await versusTransformers(big, bigSession!);
  await bigSession!.release();
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exitCode = 1;
});
