// Greedy generation on the demo seed model: the KV-cache path gives exactly what recomputing the
// whole sequence gives, independent of batching; stops, limits, cancellation, provider fallback.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GenerationCancelled, generate } from '../../src/engine/inference/generate';
import { createDecoderSession, type DecoderSession } from '../../src/engine/inference/session';
import { openHfModel } from '../../src/engine/model/hfModel';
import { loadTokenizer, type TextTokenizer } from '../../src/engine/model/tokenizer';
import { repoRoot } from '../harness/paths';
import { demoModel } from './support/python';

const STOP = ['</s>', '\n\n'];

describe('greedy generation', () => {
  let ds: DecoderSession;
  let tok: TextTokenizer;
  let prompts: number[][];

  before(async () => {
    const model = await openHfModel(demoModel('seed'));
    tok = await loadTokenizer(model.folder, model.config.vocabSize);
    ds = await createDecoderSession(model, { maxContext: 256 });
    const lines = readFileSync(path.join(repoRoot, 'resources', 'demo', 'data', 'gsm_dev.jsonl'), 'utf8').trim().split('\n');
    prompts = lines.slice(0, 12).map((l) => tok.encode(`Question: ${(JSON.parse(l) as { question: string }).question}\nAnswer:`));
  });
  after(() => ds.release());

  it('gives the same tokens with the KV cache, in batches, as recomputing one prompt at a time', async () => {
    const cached = await generate(ds, tok, prompts, { maxNewTokens: 40, stop: STOP, batchSize: 5 });
    const single = await generate(ds, tok, prompts, { maxNewTokens: 40, stop: STOP, batchSize: 1 });
    const uncached = await generate(ds, tok, prompts.slice(0, 4), { maxNewTokens: 40, stop: STOP, useCache: false });
    assert.deepEqual(cached.outputs, single.outputs);
    assert.deepEqual(cached.outputs.slice(0, 4), uncached.outputs);
    assert.ok(cached.stats.forwardPasses < uncached.stats.forwardPasses);
    assert.equal(cached.stats.generatedTokens, cached.outputs.reduce((n, o) => n + o.tokens.length, 0));
  });

  it('cuts completions at a stop string and respects the token limit', async () => {
    const { outputs } = await generate(ds, tok, prompts.slice(0, 6), { maxNewTokens: 64, stop: STOP });
    for (const o of outputs) {
      assert.ok(!o.text.includes('\n\n'), JSON.stringify(o.text));
      assert.ok(['eos', 'stop'].includes(o.stopReason), o.stopReason);
      assert.match(o.text, /####/);
    }
    const short = await generate(ds, tok, prompts.slice(0, 3), { maxNewTokens: 5, stop: STOP });
    for (const o of short.outputs) {
      assert.equal(o.tokens.length, 5);
      assert.equal(o.stopReason, 'length');
    }
    const custom = await generate(ds, tok, prompts.slice(0, 3), { maxNewTokens: 64, stop: ['='] });
    for (const o of custom.outputs) assert.ok(!o.text.includes('='), o.text);
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(generate(ds, tok, prompts, { maxNewTokens: 10, signal: controller.signal }), GenerationCancelled);
  });

  it('reports progress for every prompt', async () => {
    const seen: number[] = [];
    await generate(ds, tok, prompts.slice(0, 4), { maxNewTokens: 8, onProgress: (done) => seen.push(done) });
    assert.deepEqual(seen, [1, 2, 3, 4]);
  });

  it('falls back to the CPU, saying why, when the asked-for provider is missing', async () => {
    const other = await createDecoderSession(ds.model, { executionProvider: 'cuda', maxContext: 64 });
    try {
      assert.equal(other.provider, 'cpu');
      assert.match(other.fallback ?? '', /cuda execution provider is not available/);
    } finally {
      await other.release();
    }
  });
});
