// Engine benchmarks, each a ratio measured side by side in one run (npm run bench):
// 1. generation throughput on the demo dev set: batched with the KV cache vs one prompt at a time
//    without it; 2. scoring a merged model after the first: session set-up vs generation;
// 3. peak memory when opening a sharded checkpoint vs the sum of its shards.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { generate } from '../../src/engine/inference/generate';
import { createDecoderSession } from '../../src/engine/inference/session';
import { openHfModel } from '../../src/engine/model/hfModel';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors } from '../../src/engine/model/safetensors';
import { loadTokenizer } from '../../src/engine/model/tokenizer';
import { repoRoot } from '../harness/paths';
import { PYTHON, runFixtureScript } from '../unit/support/python';

const demo = path.join(repoRoot, 'resources', 'demo');
const STOP = ['</s>', '\n\n'];
const MB = 2 ** 20;

function devQuestions(): string[] {
  const read = (f: string, key: string) =>
    readFileSync(path.join(demo, 'data', f), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as Record<string, string>)[key]);
  return [...read('gsm_dev.jsonl', 'question'), ...read('math_dev.jsonl', 'problem')].map((q) => `Question: ${q}\nAnswer:`);
}

async function throughput(): Promise<void> {
  const model = await openHfModel(path.join(demo, 'models', 'seed'));
  const tok = await loadTokenizer(model.folder, model.config.vocabSize);
  const ds = await createDecoderSession(model, { maxContext: 256 });
  const prompts = devQuestions().map((q) => tok.encode(q));
  const subset = prompts.filter((_, i) => i % 8 === 0);
  const fast = await generate(ds, tok, prompts, { maxNewTokens: 64, stop: STOP, batchSize: 32 });
  const slow = await generate(ds, tok, subset, { maxNewTokens: 64, stop: STOP, useCache: false });
  const rate = (s: typeof fast.stats) => s.generatedTokens / s.seconds;
  console.log('\n1. generation on the demo dev set (%d prompts; baseline on every 8th)', prompts.length);
  console.log('   batched (32) with KV cache: %s tokens/s (%d tokens in %ss)', rate(fast.stats).toFixed(0), fast.stats.generatedTokens, fast.stats.seconds.toFixed(2));
  console.log('   one at a time, no cache:    %s tokens/s (%d tokens in %ss)', rate(slow.stats).toFixed(0), slow.stats.generatedTokens, slow.stats.seconds.toFixed(2));
  console.log('   ratio: %sx (target at least 5x)', (rate(fast.stats) / rate(slow.stats)).toFixed(1));
  await ds.release();
}

/** The LLM factory's sampling (temperature and top-p) against greedy decoding, on the demo
 * writer: the same batched cache path, so the ratio is the cost of drawing a token. */
async function sampling(): Promise<void> {
  const model = await openHfModel(path.join(demo, 'models', 'writer'));
  const tok = await loadTokenizer(model.folder, model.config.vocabSize);
  const ds = await createDecoderSession(model, { maxContext: 1024 });
  const template = readFileSync(path.join(demo, 'prompts', 'writer.md'), 'utf8');
  const worked = readFileSync(path.join(demo, 'prompts', 'worked_example.py'), 'utf8');
  const prompt = tok.encode(template.replace('{{examples}}', '').replace('{{worked_example}}', worked));
  const prompts = Array.from({ length: 32 }, () => prompt);
  // Greedy gives 32 copies of one completion, so both runs generate a fixed number of tokens.
  const opts = { maxNewTokens: 128, stop: [], eosTokenIds: [-1], batchSize: 32 };
  const greedy = await generate(ds, tok, prompts, opts);
  const topP = await generate(ds, tok, prompts, { ...opts, sampling: { temperature: 1, topP: 0.95, seed: 1 } });
  const plain = await generate(ds, tok, prompts, { ...opts, sampling: { temperature: 1, seed: 1 } });
  const rate = (s: typeof greedy.stats) => s.generatedTokens / s.seconds;
  console.log('\n1b. sampling on the demo writer (32 samples of the demo prompt, 128 tokens each, vocabulary %d)', model.config.vocabSize);
  console.log('   greedy:              %s tokens/s', rate(greedy.stats).toFixed(0));
  console.log('   temperature 1:       %s tokens/s (ratio to greedy %sx)', rate(plain.stats).toFixed(0), (rate(plain.stats) / rate(greedy.stats)).toFixed(2));
  console.log('   temperature 1, top-p 0.95: %s tokens/s (ratio to greedy %sx)', rate(topP.stats).toFixed(0), (rate(topP.stats) / rate(greedy.stats)).toFixed(2));
  await ds.release();
}

async function mergedSetup(): Promise<void> {
  const model = await openHfModel(path.join(demo, 'models', 'seed'));
  const tok = await loadTokenizer(model.folder, model.config.vocabSize);
  const scope = /^model\.layers\.\d+\.mlp\.(gate|up|down)_proj\.weight$/;
  const overlayFile = path.join(os.tmpdir(), `selfdev-bench-overlay-${process.pid}.safetensors`);
  const scoped = [...model.tensors.values()].filter((t) => scope.test(t.name));
  await writeSafetensors(overlayFile, await Promise.all(scoped.map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: await readTensorBytes(t) }))));
  const overlay = await readSafetensorsHeader(overlayFile);
  const prompts = devQuestions().map((q) => tok.encode(q));

  const first = await createDecoderSession(model, { maxContext: 256 });
  const rssBefore = process.memoryUsage().rss;
  const merged = await createDecoderSession(model, { maxContext: 256 }, overlay);
  const rssAfter = process.memoryUsage().rss;
  const gen = await generate(merged, tok, prompts, { maxNewTokens: 64, stop: STOP, batchSize: 32 });
  const setup = merged.setupSeconds;
  console.log('\n2. scoring a merged model after the first (seed session %ss to create)', first.setupSeconds.toFixed(3));
  console.log('   merged-model session: %sms, +%s MB resident (%s MB of weights, %s MB in the merge scope)',
    (setup * 1000).toFixed(0), ((rssAfter - rssBefore) / MB).toFixed(1),
    ([...model.tensors.values()].reduce((n, t) => n + t.length, 0) / MB).toFixed(1), (scoped.reduce((n, t) => n + t.length, 0) / MB).toFixed(1));
  console.log('   generation on the dev set: %ss; set-up is %s%% of the candidate\'s evaluation', gen.stats.seconds.toFixed(2), ((100 * setup) / (setup + gen.stats.seconds)).toFixed(1));

  // The alternative design: one session whose merge-scope weights are inputs, fed per model.
  const shared = await createDecoderSession(model, { maxContext: 256, weightInputs: scope });
  const swapStart = performance.now();
  for (const t of scoped) {
    const bytes = await readTensorBytes(overlay.get(t.name)!);
    shared.weightFeeds[t.name] = new ort.Tensor('float32', new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), t.shape);
  }
  const swap = (performance.now() - swapStart) / 1000;
  const genInputs = await generate(shared, tok, prompts, { maxNewTokens: 64, stop: STOP, batchSize: 32 });
  const sameOutputs = JSON.stringify(genInputs.outputs) === JSON.stringify(gen.outputs);
  console.log('   alternative, merge scope as graph inputs: swap %sms + generation %ss (same completions: %s)', (swap * 1000).toFixed(1), genInputs.stats.seconds.toFixed(2), sameOutputs);
  console.log('   session per merged model vs weights as inputs, whole evaluation: %sx the time',
    ((setup + gen.stats.seconds) / (swap + genInputs.stats.seconds)).toFixed(2));
  await first.release();
  await merged.release();
  await shared.release();
}

function shardedMemory(): void {
  const dir = path.join(runFixtureScript(path.join('engine', 'make_sharded.py')), 'sharded');
  const shards = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
  const total = shards.reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
  // A fresh process, so its peak resident size is this measurement's alone.
  const probe = `
    const { openHfModel } = require(${JSON.stringify(path.join(repoRoot, 'out', 'src', 'engine', 'model', 'hfModel.js'))});
    const { createDecoderSession } = require(${JSON.stringify(path.join(repoRoot, 'out', 'src', 'engine', 'inference', 'session.js'))});
    (async () => {
      const base = process.resourceUsage().maxRSS * 1024;
      const m = await openHfModel(${JSON.stringify(dir)});
      const opened = process.resourceUsage().maxRSS * 1024;
      const s = await createDecoderSession(m, { maxContext: 512 });
      const session = process.resourceUsage().maxRSS * 1024;
      console.log(JSON.stringify({ base, opened, session }));
      await s.release();
    })();`;
  const r = JSON.parse(execFileSync(process.execPath, ['-e', probe], { cwd: repoRoot, encoding: 'utf8' })) as Record<string, number>;
  console.log('\n3. opening a sharded checkpoint (%d shards, %s MB)', shards.length, (total / MB).toFixed(0));
  console.log('   reading config and shard headers: peak +%s MB (%s of the shards)', ((r.opened - r.base) / MB).toFixed(1), ((r.opened - r.base) / total).toFixed(3));
  console.log('   creating its inference session: peak +%s MB (%s of the shards)', ((r.session - r.base) / MB).toFixed(1), ((r.session - r.base) / total).toFixed(2));
}

/** selfdev export model's writer on the sharded checkpoint: its peak memory against the largest
 * tensor, and its time against copying the same bytes with the file system's copy. */
async function exportMemory(): Promise<void> {
  const dir = path.join(runFixtureScript(path.join('engine', 'make_sharded.py')), 'sharded');
  const seed = await openHfModel(dir);
  const scope = [...seed.tensors.values()].filter((t) => /mlp\.(gate|up|down)_proj\.weight$/.test(t.name));
  const work = mkdtempSync(path.join(os.tmpdir(), 'selfdev-bench-export-'));
  const overlay = path.join(work, 'overlay.safetensors');
  await writeSafetensors(overlay, await Promise.all(scope.map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: await readTensorBytes(t) }))));
  const total = [...seed.tensors.values()].reduce((n, t) => n + t.length, 0);
  const largest = Math.max(...[...seed.tensors.values()].map((t) => t.length));
  const probe = `
    const { writeCheckpoint } = require(${JSON.stringify(path.join(repoRoot, 'out', 'src', 'engine', 'model', 'checkpointWriter.js'))});
    (async () => {
      // Resident size sampled while it writes (maxRSS would also count the start-up's peak).
      const base = process.memoryUsage().rss;
      let high = base;
      const sample = setInterval(() => (high = Math.max(high, process.memoryUsage().rss)), 2);
      const t0 = performance.now();
      await writeCheckpoint({ seedFolder: ${JSON.stringify(dir)}, overlayFile: ${JSON.stringify(overlay)}, out: ${JSON.stringify(path.join(work, 'out'))}, maxShardBytes: 30e6 });
      const seconds = (performance.now() - t0) / 1000;
      clearInterval(sample);
      high = Math.max(high, process.memoryUsage().rss);
      console.log(JSON.stringify({ peak: high - base, seconds }));
    })();`;
  const r = JSON.parse(execFileSync(process.execPath, ['-e', probe], { cwd: repoRoot, encoding: 'utf8' })) as { peak: number; seconds: number };
  // The same bytes copied by the file system, for scale.
  const t0 = performance.now();
  mkdirSync(path.join(work, 'copy'));
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.safetensors'))) copyFileSync(path.join(dir, f), path.join(work, 'copy', f));
  const copySeconds = (performance.now() - t0) / 1000;
  console.log('\n4. exporting it as a merged checkpoint (%s MB, %d merged tensors, largest tensor %s MB)', (total / MB).toFixed(0), scope.length, (largest / MB).toFixed(1));
  console.log('   peak memory +%s MB = %s of the largest tensor (streamed in 8 MB chunks)', (r.peak / MB).toFixed(1), (r.peak / largest).toFixed(2));
  console.log('   %s s (%s MB/s): %sx the time of copying the shard files', r.seconds.toFixed(2), (total / MB / r.seconds).toFixed(0), (r.seconds / copySeconds).toFixed(2));
  rmSync(work, { recursive: true, force: true });
}

async function main(): Promise<void> {
  console.log(`engine benchmarks on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), Python ${PYTHON}`);
  await throughput();
  await sampling();
  await mergedSetup();
  shardedMemory();
  await exportMemory();
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
