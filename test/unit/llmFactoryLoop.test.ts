// An iteration of the loop with the LLM factory, end to end on real parts: the demo's writer
// model sampled by the engine in the real backend process, the real runner scoring what it
// wrote. Then the same loop against an OpenAI-compatible peer that answers with prose only, for
// the no_code failure class, and a generator that cannot be reached.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderPrompt } from '../../src/core/factory/prompt';
import type { CompletionRecord, SampleRecord, ScoredRecord } from '../../src/core/run/records';
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
const jsonl = <T>(file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as T);

describe('the loop with the LLM factory on the demo writer', () => {
  let s: SmallRun;
  before(async () => {
    s = await smallRun({ factory: writerFactory, algorithmsPerIteration: 8, iterations: 2, temperature: { start: 1.0, decay: 0.2 } });
  });
  after(() => s.dispose());

  it('writes the prompt, keeps every completion, extracts and scores the code, and records the factory', async () => {
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
    const factory = JSON.parse(readFileSync(path.join(it1, 'factory.json'), 'utf8'));
    assert.equal(factory.kind, 'llm');
    assert.equal(factory.version, 0);
    assert.deepEqual(factory.generator, { kind: 'engine', model: 'writer', chat: 'auto' });
  });

  it('samples reproducibly: the same seed gives the same completions in another run', async () => {
    const other = await smallRun({ factory: writerFactory, algorithmsPerIteration: 8, iterations: 2, temperature: { start: 1.0, decay: 0.2 } });
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
