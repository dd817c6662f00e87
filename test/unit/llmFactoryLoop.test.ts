// Iterations of the loop with the LLM factory, end to end on real parts: the demo's writer
// model sampled by the engine in the real backend process, the real runner scoring what it
// wrote, TRL's DPO refining the writer on the pairs (with a cancelled trainer first), the refined
// writer writing the next iteration beside the unrefined one as the control, and the last
// planned iteration's refinement deferred. Then the same loop against an OpenAI-compatible peer
// that answers with prose only, for the no_code failure class and a generator whose weights
// cannot be refined, and a generator that cannot be reached.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readRunConfig } from '../../src/core/config/runConfig';
import type { LlmFactoryRecord } from '../../src/core/factory/llmFactoryRecord';
import { renderPrompt } from '../../src/core/factory/prompt';
import { LoopCancelled } from '../../src/core/loop/runLoop';
import type { CompletionRecord, PairRecord, SampleRecord, ScoredRecord } from '../../src/core/run/records';
import { existsSync, readdirSync } from 'node:fs';
import { repoRoot } from '../harness/paths';
import { smallRun, type SmallRun } from './support/smallRun';

const demo = path.join(repoRoot, 'resources', 'demo');
const writerFactory = {
  kind: 'llm',
  generator: { kind: 'engine', model: path.join(demo, 'models', 'writer') },
  prompt: path.join(demo, 'prompts', 'writer.md'),
  workedExample: path.join(demo, 'prompts', 'worked_example.py'),
  maxTokens: 256,
};
const jsonl = <T>(file: string) => {
  const text = readFileSync(file, 'utf8').trim();
  return text ? text.split('\n').map((l) => JSON.parse(l) as T) : [];
};
// Pairs wide enough to train on and hold out from with 8 algorithms an iteration.
const pairs = { chosenTop: 0.25, rejectedBottom: 0.5, failedAsRejected: true };

describe('the loop with the LLM factory on the demo writer', () => {
  let s: SmallRun;
  before(async () => {
    // The demo's DPO settings, so the tests train what the demo trains.
    const demoRefine = (await readRunConfig(path.join(demo, 'demo.run.json'))).factory;
    assert.ok(demoRefine.kind === 'llm');
    const { baseModel: _b, ...refine } = demoRefine.refine;
    s = await smallRun({ factory: { ...writerFactory, refine: { ...refine, checkpointSteps: 1 } }, pairs, randomControl: true, algorithmsPerIteration: 8, iterations: 2, temperature: { start: 1.0, decay: 0.2 } });
  });
  after(() => s.dispose());

  it('writes the prompt, keeps every completion, extracts and scores the code, and refines the writer by DPO after a cancelled try', async () => {
    // First a trainer cancelled mid-training: the loop stops, nothing is published, no factory.json.
    const controller = new AbortController();
    const cancelled = await s.open({ signal: controller.signal, onEvent: (e) => e.type === 'refining' && e.progress.phase === 'train' && e.progress.step >= 1 && controller.abort() });
    await assert.rejects(cancelled.iterate(1), (err: unknown) => err instanceof LoopCancelled || /cancel/i.test(String(err)));
    assert.equal(await s.run.read('iterations/01/factory.json'), undefined, 'no factory record after a cancelled refinement');
    const artifacts = path.join(s.dir, 'artifacts', 's', 'factory');
    assert.ok(!existsSync(artifacts) || !readdirSync(artifacts).some((f) => /^v1-[0-9a-f]{12}$/.test(f)), 'no refined generator published');

    const loop = await s.open();
    await loop.iterate(1);
    const it1 = path.join(s.run.dir, 'iterations', '01');
    const template = readFileSync(writerFactory.prompt, 'utf8');
    const worked = readFileSync(writerFactory.workedExample, 'utf8');
    // The exact text the model saw: the writer's chat template puts <s> before the prompt.
    assert.equal(readFileSync(path.join(it1, 'prompt.md'), 'utf8'), `<s>${renderPrompt(template, { workedExample: worked })}`);

    const completions = jsonl<CompletionRecord>(path.join(it1, 'completions.jsonl'));
    assert.deepEqual(completions.map((c) => c.id), ['a0001', 'a0002', 'a0003', 'a0004', 'a0005', 'a0006', 'a0007', 'a0008']);
    for (const c of completions) {
      assert.deepEqual(c.sampling, { temperature: 1, topP: 1, maxTokens: 256, stop: [] });
      assert.equal(c.model, 'writer');
      assert.ok(c.completionTokens! > 0 && c.promptTokens! > 50);
    }
    const samples = jsonl<SampleRecord>(path.join(it1, 'samples.jsonl'));
    const results = jsonl<ScoredRecord>(path.join(it1, 'results.jsonl'));
    assert.equal(results.length, 8);
    for (const c of completions) {
      const code = readFileSync(path.join(it1, 'algorithms', `${c.id}.py`), 'utf8');
      const r = results.find((x) => x.id === c.id)!;
      if (c.extraction.ok) {
        assert.ok(c.text.includes(code.trimEnd()), `${c.id}: the file is the code of the completion`);
        assert.equal(samples.find((x) => x.id === c.id)!.completion, c.index);
      } else {
        assert.equal(r.errorClass, 'no_code');
        assert.match(code, /^# The completion holds no code/);
      }
      assert.equal(r.factoryVersion, 0);
      assert.equal(r.temperature, 1);
    }
    // The demo writer mostly writes code that runs.
    const ok = results.filter((r) => r.status === 'ok');
    assert.ok(ok.length >= 5, `${ok.length} of 8 ran: ${results.map((r) => r.errorClass ?? 'ok').join(', ')}`);
    assert.ok(ok.every((r) => r.isolation === 'kernel'));

    const generation = JSON.parse(readFileSync(path.join(it1, 'generation.json'), 'utf8'));
    assert.deepEqual(generation.factory, { kind: 'llm', version: 0 });
    assert.equal(generation.chat, true);
    assert.equal(generation.n, 8);

    // Refined: version 0 wrote the iteration, DPO on its pairs made version 1.
    const factory = JSON.parse(readFileSync(path.join(it1, 'factory.json'), 'utf8')) as LlmFactoryRecord;
    assert.equal(factory.kind, 'llm');
    assert.deepEqual([factory.wrote, factory.version, factory.parentVersion], [0, 1, 0]);
    assert.deepEqual(factory.generator, { kind: 'engine', model: 'writer', chat: 'auto' });
    const r = factory.refinement!;
    assert.ok(r.status === 'refined', JSON.stringify(r));
    assert.deepEqual(factory.weights, { artifact: r.weights.artifact, hash: r.weights.hash });
    assert.match(r.weights.artifact, /^s\/factory\/v1-[0-9a-f]{12}$/);
    assert.ok(existsSync(path.join(s.dir, 'artifacts', ...r.weights.artifact.split('/'), 'merged', 'model.safetensors')));
    assert.deepEqual(r.base, { model: writerFactory.generator.model });
    assert.equal(r.hyperparameters.seed, 0);
    // The DPO data: TRL's format, the exact prompt, the raw completions, the held-out split by rejected.
    const trainRows = jsonl<Record<string, string>>(path.join(it1, 'dpo', 'train.jsonl'));
    const heldRows = jsonl<Record<string, string>>(path.join(it1, 'dpo', 'heldout.jsonl'));
    const pairRecords = jsonl<PairRecord>(path.join(it1, 'pairs.jsonl')).filter((p) => !p.vetoed);
    assert.equal(trainRows.length + heldRows.length, pairRecords.length);
    assert.ok(trainRows.length > 0 && heldRows.length > 0, `${trainRows.length} trained, ${heldRows.length} held out`);
    const prompt = readFileSync(path.join(it1, 'prompt.md'), 'utf8');
    const textOf = new Map(completions.map((c) => [`1/${c.id}`, c.text]));
    const all = [...r.data.trainPairs.map((p, i) => [p, trainRows[i]] as const), ...r.data.heldOutPairs.map((p, i) => [p, heldRows[i]] as const)];
    for (const [pair, row] of all) {
      assert.deepEqual(Object.keys(row), ['prompt', 'chosen', 'rejected']);
      const [chosen, rejected] = pair.split('>');
      assert.equal(row.prompt, prompt);
      assert.equal(row.chosen, textOf.get(chosen));
      assert.equal(row.rejected, textOf.get(rejected));
    }
    const heldRejected = new Set(r.data.heldOutPairs.map((p) => p.split('>')[1]));
    assert.ok(r.data.trainPairs.every((p) => !heldRejected.has(p.split('>')[1])));
    assert.equal(r.metrics.train.pairs, trainRows.length);
    assert.equal(r.metrics.heldOut!.pairs, heldRows.length);
    assert.equal(r.metrics.heldOut!.before.margins.length, heldRows.length);
    // At version 0 the control is the factory's own draw.
    const control = jsonl<{ text: string; model: string }>(path.join(s.run.dir, 'baselines', 'control', 'completions-01.jsonl'));
    assert.deepEqual(control.map((c) => c.text), completions.map((c) => c.text));
  });

  it('samples reproducibly: the same seed gives the same completions in another run', async () => {
    const other = await smallRun({ factory: { ...writerFactory, refine: { enabled: false } }, algorithmsPerIteration: 8, iterations: 2, temperature: { start: 1.0, decay: 0.2 } });
    try {
      const loop = await other.open();
      await loop.iterate(1);
      const a = jsonl<CompletionRecord>(path.join(s.run.dir, 'iterations', '01', 'completions.jsonl')).map((c) => c.text);
      const b = jsonl<CompletionRecord>(path.join(other.run.dir, 'iterations', '01', 'completions.jsonl')).map((c) => c.text);
      assert.deepEqual(b, a);
      assert.ok(new Set(a).size >= 4, 'the samples differ from each other');
    } finally {
      await other.dispose();
    }
  });

  it('shows the best earlier algorithms in the next prompt when asked, and notes repeated code', async () => {
    // A config field of the run: the second iteration asks for two examples.
    const header = JSON.parse(readFileSync(path.join(s.run.dir, 'run.json'), 'utf8'));
    header.config.factory.examples = 2;
    await s.run.write('run.json', JSON.stringify(header, null, 1) + '\n');
    await s.run.commit('show two examples');
    await (await s.open()).iterate(1);
    const it2 = path.join(s.run.dir, 'iterations', '02');
    const prompt = readFileSync(path.join(it2, 'prompt.md'), 'utf8');
    const generation = JSON.parse(readFileSync(path.join(it2, 'generation.json'), 'utf8'));
    assert.equal(generation.examples.length, 2);
    const best = jsonl<ScoredRecord>(path.join(s.run.dir, 'iterations', '01', 'results.jsonl'))
      .filter((r) => r.status === 'ok')
      .sort((a, b) => b.score! - a.score!);
    assert.equal(generation.examples[0].ref, `1/${best[0].id}`);
    assert.ok(prompt.includes(`Earlier algorithm 1/${best[0].id} (dev score ${(100 * best[0].score!).toFixed(1)})`));
    const completions = jsonl<CompletionRecord>(path.join(it2, 'completions.jsonl'));
    const results = jsonl<ScoredRecord>(path.join(it2, 'results.jsonl'));
    for (const c of completions.filter((x) => x.duplicateOf)) assert.ok(results.find((r) => r.id === c.id)!.reusedFrom, `${c.id} repeats ${c.duplicateOf} and reuses a result`);
  });
  it('writes the next iteration with the refined writer, beside the unrefined one as the control, and defers the last refinement', async () => {
    const it2 = path.join(s.run.dir, 'iterations', '02');
    const v1 = JSON.parse(readFileSync(path.join(s.run.dir, 'iterations', '01', 'factory.json'), 'utf8')) as LlmFactoryRecord;
    const generation = JSON.parse(readFileSync(path.join(it2, 'generation.json'), 'utf8'));
    assert.deepEqual(generation.factory, { kind: 'llm', version: 1, weights: v1.weights!.artifact });
    assert.equal(generation.model, 'merged', 'the refined weights wrote');
    for (const r of jsonl<ScoredRecord>(path.join(it2, 'results.jsonl'))) assert.equal(r.factoryVersion, 1);
    const control = jsonl<{ text: string; model: string }>(path.join(s.run.dir, 'baselines', 'control', 'completions-02.jsonl'));
    assert.ok(control.every((c) => c.model === 'writer'), 'the control is the unrefined writer');
    const controls = jsonl<ScoredRecord>(path.join(s.run.dir, 'baselines', 'results.jsonl')).filter((r) => r.kind === 'control' && r.id.startsWith('control-02-'));
    assert.equal(controls.length, 8);
    assert.ok(controls.every((r) => r.factoryVersion === 0 && r.temperature === generation.sampling.temperature));
    // Iteration 2 is the last planned one: its refinement waits until the run continues.
    const f2 = JSON.parse(readFileSync(path.join(it2, 'factory.json'), 'utf8')) as LlmFactoryRecord;
    assert.equal(f2.refinement!.status, 'deferred');
    assert.deepEqual([f2.wrote, f2.version], [1, 1]);
    assert.deepEqual(f2.weights, v1.weights);
    assert.ok(existsSync(path.join(it2, 'dpo')) === false, 'deferred: no DPO data yet');

    // Continuing the run refines first: stopped as soon as iteration 3 starts generating.
    const controller = new AbortController();
    const loop = await s.open({ signal: controller.signal, onEvent: (e) => e.type === 'phase' && e.phase === 'generate' && e.iteration === 3 && controller.abort() });
    await assert.rejects(loop.iterate(1), (err: unknown) => err instanceof LoopCancelled || /cancel/i.test(String(err)));
    const refined = JSON.parse(readFileSync(path.join(it2, 'factory.json'), 'utf8')) as LlmFactoryRecord;
    assert.equal(refined.refinement!.status, 'refined');
    assert.deepEqual([refined.wrote, refined.version, refined.parentVersion], [1, 2, 1]);
    assert.ok(refined.refinement!.status === 'refined' && 'artifact' in refined.refinement!.base && refined.refinement!.base.artifact === v1.weights!.artifact, 'v2 is trained on v1');
    assert.match(refined.weights!.artifact, /^s\/factory\/v2-[0-9a-f]{12}$/);
  });


});

describe('the loop with the LLM factory on an OpenAI-compatible endpoint', () => {
  let server: Server;
  let base = '';
  before(async () => {
    // Answers every chat request with prose and no code (a peer of the protocol, scripted).
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const n = Number((JSON.parse(body) as { n: number }).n);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ model: 'prose-1', choices: Array.from({ length: n }, (_, i) => ({ index: i, message: { content: 'I would merge the models by averaging them, carefully.' }, finish_reason: 'stop' })) }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => server.close());

  it('records completions without code as no_code failures, with the completion kept in the file', async () => {
    const s = await smallRun({ factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: base, model: 'prose', concurrency: 2 }, prompt: writerFactory.prompt, workedExample: writerFactory.workedExample }, algorithmsPerIteration: 3 });
    try {
      await (await s.open()).iterate(1);
      const it1 = path.join(s.run.dir, 'iterations', '01');
      const results = jsonl<ScoredRecord>(path.join(it1, 'results.jsonl'));
      assert.deepEqual(results.map((r) => [r.id, r.status, r.errorClass]), [
        ['a0001', 'failed', 'no_code'],
        ['a0002', 'failed', 'no_code'],
        ['a0003', 'failed', 'no_code'],
      ]);
      assert.match(readFileSync(path.join(it1, 'algorithms', 'a0001.py'), 'utf8'), /# I would merge the models by averaging them, carefully\./);
      assert.equal(jsonl<CompletionRecord>(path.join(it1, 'completions.jsonl'))[0].model, 'prose-1');
      // The chat API got the prompt as the user's message, unchanged.
      assert.equal(readFileSync(path.join(it1, 'prompt.md'), 'utf8'), renderPrompt(readFileSync(writerFactory.prompt, 'utf8'), { workedExample: readFileSync(writerFactory.workedExample, 'utf8') }));
      // A server's weights are out of the backend's reach without refine.baseModel: the run says so.
      const factory = JSON.parse(readFileSync(path.join(it1, 'factory.json'), 'utf8')) as LlmFactoryRecord;
      assert.equal(factory.refinement!.status, 'not-refined');
      assert.match((factory.refinement as { reason: string }).reason, /weights the backend cannot reach: set factory\.refine\.baseModel/);
      assert.deepEqual([factory.wrote, factory.version, factory.weights], [0, 0, null]);
    } finally {
      await s.dispose();
    }
  });

  it('stops with a clear error when the endpoint cannot be reached, and writes no algorithms', async () => {
    const s = await smallRun({ factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: 'm', retries: 0, timeoutSeconds: 5 }, prompt: writerFactory.prompt, workedExample: writerFactory.workedExample }, algorithmsPerIteration: 2 });
    try {
      await assert.rejects((await s.open()).iterate(1), /m at http:\/\/127\.0\.0\.1:9\/v1: cannot reach/);
      assert.equal(await s.run.read('iterations/01/samples.jsonl'), undefined);
    } finally {
      await s.dispose();
    }
  });
});
