// The openai generator and the LLM factory's loop against a real OpenAI-compatible server on
// loopback: `transformers serve` serving the demo's writer model. Its known quirks (FACTS.md)
// are what real deployments do too: it ignores `n` (the client asks again for the rest), it has
// no completions API (404, with a hint), it streams when asked not to, and it fails silently on
// stop strings (the client says so instead of recording empty completions).
import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractAlgorithm } from '../../src/core/factory/extractCode';
import { readRunConfig } from '../../src/core/config/runConfig';
import type { LlmFactoryRecord } from '../../src/core/factory/llmFactoryRecord';
import type { CompletionRecord, ScoredRecord } from '../../src/core/run/records';
import { generateWithOpenAi } from '../../src/engine/generators/openaiGenerator';
import type { GenerateParams, OpenAiGenerator } from '../../src/protocol/backend';
import { repoRoot, testOutput } from '../harness/paths';
import { startTransformersServe, type LlmServer } from './support/llmServer';
import { smallRun } from './support/smallRun';

const demo = path.join(repoRoot, 'resources', 'demo');
const writer = path.join(demo, 'models', 'writer');
const promptFile = path.join(demo, 'prompts', 'writer.md');
const workedFile = path.join(demo, 'prompts', 'worked_example.py');
const prompt = readFileSync(promptFile, 'utf8').replace('{{examples}}', '').replace('{{worked_example}}', readFileSync(workedFile, 'utf8'));

describe('the LLM factory on a real OpenAI-compatible server (transformers serve)', () => {
  let server: LlmServer;
  before(async () => {
    server = await startTransformersServe(writer);
  });
  after(() => {
    server.stop();
    // The server's own account, for when a test here fails.
    mkdirSync(testOutput, { recursive: true });
    writeFileSync(path.join(testOutput, 'transformers-serve.log'), server.log());
  });

  const gen = (over: Partial<OpenAiGenerator> = {}): OpenAiGenerator => ({ kind: 'openai', baseUrl: server.baseUrl, model: 'writer', api: 'chat', concurrency: 2, samplesPerRequest: 2, timeoutSeconds: 120, retries: 0, ...over });
  const params = (g: OpenAiGenerator, over: Partial<GenerateParams['sampling']> = {}, n = 4): GenerateParams & { generator: OpenAiGenerator } => ({
    jobId: 'real',
    generator: g,
    prompt,
    n,
    sampling: { temperature: 1.0, topP: 1, maxTokens: 200, seed: 3, stop: [], ...over },
  });

  it('gets n completions of code through the chat API, asking again where the server ignored n', async () => {
    const r = await generateWithOpenAi(params(gen()), { env: {} });
    assert.deepEqual(r.completions.map((c) => c.index), [0, 1, 2, 3]);
    const extracted = r.completions.map((c) => extractAlgorithm(c.text));
    assert.ok(extracted.filter((x) => x.ok && x.from === 'fenced' && x.definesMerge).length >= 3, r.completions.map((c) => c.text).join('\n---\n'));
    assert.match(r.model, /writer/);
  });

  it('explains a 404 on the completions API', async () => {
    await assert.rejects(generateWithOpenAi(params(gen({ api: 'completions' }), {}, 1), { env: {} }), /HTTP 404.*Some servers have no completions API: try "api": "chat"/s);
  });

  it('runs an iteration of the loop with it: completions kept, code extracted and scored in the sandbox', async () => {
    const s = await smallRun({ factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: server.baseUrl, model: 'writer', concurrency: 2, retries: 1 }, prompt: promptFile, workedExample: workedFile, maxTokens: 200 }, algorithmsPerIteration: 4 });
    try {
      await (await s.open()).iterate(1);
      const it1 = path.join(s.run.dir, 'iterations', '01');
      const completions = readFileSync(path.join(it1, 'completions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CompletionRecord);
      const results = readFileSync(path.join(it1, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ScoredRecord);
      assert.equal(completions.length, 4);
      assert.ok(completions.every((c) => /writer/.test(c.model) && c.sampling.temperature === 1.2));
      assert.ok(results.filter((r) => r.status === 'ok').length >= 2, results.map((r) => r.errorClass ?? 'ok').join(', '));
      assert.equal(readFileSync(path.join(it1, 'prompt.md'), 'utf8'), prompt);
    } finally {
      await s.dispose();
    }
  });

  // Last: the failed generation can leave this server hung.
  it('reports a generation that fails on the server (stop strings, here) instead of recording empty completions', async () => {
    await assert.rejects(generateWithOpenAi(params(gen({ timeoutSeconds: 10 }), { stop: ['taus ='] }, 1), { env: {} }), /event stream ended before the completion finished|no answer within 10 s/);
  });
});

describe('a refined generator reaching an OpenAI-compatible server by model path (transformers serve)', () => {
  let server: LlmServer;
  before(async () => {
    server = await startTransformersServe(writer, 120_000, { byPath: true });
  });
  after(() => {
    server.stop();
    mkdirSync(testOutput, { recursive: true });
    writeFileSync(path.join(testOutput, 'transformers-serve-by-path.log'), server.log());
  });

  it('refines the served model from its folder (refine.baseModel) and the next iteration asks the server for the merged folder', async () => {
    const demoFactory = (await readRunConfig(path.join(demo, 'demo.run.json'))).factory;
    assert.ok(demoFactory.kind === 'llm');
    const { baseModel: _b, ...refine } = demoFactory.refine;
    const s = await smallRun({
      factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: server.baseUrl, model: writer, concurrency: 1, retries: 1 }, prompt: promptFile, workedExample: workedFile, maxTokens: 160, refine: { ...refine, baseModel: writer } },
      pairs: { chosenTop: 0.5, rejectedBottom: 0.5, failedAsRejected: true },
      algorithmsPerIteration: 4,
      iterations: 3,
    });
    try {
      await (await s.open()).iterate(2);
      const f1 = JSON.parse(readFileSync(path.join(s.run.dir, 'iterations', '01', 'factory.json'), 'utf8')) as LlmFactoryRecord;
      assert.ok(f1.refinement?.status === 'refined', JSON.stringify(f1.refinement));
      assert.deepEqual(f1.refinement.base, { model: writer }, 'trained on the served model\'s folder');
      const merged = path.join(s.dir, 'artifacts', ...f1.weights!.artifact.split('/'), 'merged');
      const it2 = path.join(s.run.dir, 'iterations', '02');
      const generation = JSON.parse(readFileSync(path.join(it2, 'generation.json'), 'utf8'));
      assert.equal(generation.factory.version, 1);
      const completions = readFileSync(path.join(it2, 'completions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CompletionRecord);
      assert.equal(completions.length, 4);
      // The server reports the model it ran: the refined folder, loaded by its path (transformers
      // serve adds the revision, "@main").
      assert.ok(completions.every((c) => c.model === merged || c.model === `${merged}@main`), `${completions[0].model} should be ${merged}`);
      const f2 = JSON.parse(readFileSync(path.join(it2, 'factory.json'), 'utf8')) as LlmFactoryRecord;
      assert.equal(f2.wrote, 1);
    } finally {
      await s.dispose();
    }
  });
});
