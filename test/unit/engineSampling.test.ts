// Sampled generation on the demo seed model: reproducible from the seed whatever the batching,
// temperature 0 is greedy, a tiny top-p is greedy, and the token sampler draws from exactly the
// softmax(logits / T) nucleus (checked against the distribution computed here in float64).
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from '../../src/engine/inference/generate';
import { sampleToken, sequenceSeed, tokenSampler } from '../../src/engine/inference/sampling';
import { createDecoderSession, type DecoderSession } from '../../src/engine/inference/session';
import { openHfModel } from '../../src/engine/model/hfModel';
import { loadTokenizer, type TextTokenizer } from '../../src/engine/model/tokenizer';
import { repoRoot } from '../harness/paths';
import { demoModel } from './support/python';

const STOP = ['</s>', '\n\n'];

describe('sampled generation', () => {
  let ds: DecoderSession;
  let tok: TextTokenizer;
  let prompts: number[][];

  before(async () => {
    const model = await openHfModel(demoModel('seed'));
    tok = await loadTokenizer(model.folder, model.config.vocabSize);
    ds = await createDecoderSession(model, { maxContext: 256 });
    const lines = readFileSync(path.join(repoRoot, 'resources', 'demo', 'data', 'gsm_dev.jsonl'), 'utf8').trim().split('\n');
    const one = (l: string) => tok.encode(`Question: ${(JSON.parse(l) as { question: string }).question}\nAnswer:`);
    // The same prompt 6 times (n samples of one prompt, as the factory asks) and 4 others.
    prompts = [...Array(6).fill(one(lines[0])), ...lines.slice(1, 5).map(one)];
  });
  after(() => ds.release());

  it('gives the same samples for the same seed, whatever the batch size, and other samples for another seed', async () => {
    const sampling = { temperature: 2, seed: 42 };
    const a = await generate(ds, tok, prompts, { maxNewTokens: 40, stop: STOP, batchSize: 10, sampling });
    const b = await generate(ds, tok, prompts, { maxNewTokens: 40, stop: STOP, batchSize: 3, sampling });
    const c = await generate(ds, tok, prompts.slice(0, 4), { maxNewTokens: 40, stop: STOP, useCache: false, sampling });
    assert.deepEqual(b.outputs, a.outputs);
    assert.deepEqual(c.outputs, a.outputs.slice(0, 4));
    // n samples of one prompt are different draws, not copies.
    assert.ok(new Set(a.outputs.slice(0, 6).map((o) => o.text)).size >= 3, 'six samples of one prompt at T=2 should differ');
    const other = await generate(ds, tok, prompts, { maxNewTokens: 40, stop: STOP, sampling: { temperature: 2, seed: 43 } });
    assert.notDeepEqual(other.outputs.map((o) => o.text), a.outputs.map((o) => o.text));
  });

  it('is greedy at temperature 0 and with a top-p too small to keep more than the best token', async () => {
    const greedy = await generate(ds, tok, prompts, { maxNewTokens: 40, stop: STOP });
    const t0 = await generate(ds, tok, prompts, { maxNewTokens: 40, stop: STOP, sampling: { temperature: 0, seed: 9 } });
    const tinyP = await generate(ds, tok, prompts, { maxNewTokens: 40, stop: STOP, sampling: { temperature: 1.5, topP: 1e-9, seed: 9 } });
    assert.deepEqual(t0.outputs, greedy.outputs);
    assert.deepEqual(tinyP.outputs, greedy.outputs);
  });

  it('stops at a stop string and at the token limit while sampling', async () => {
    const { outputs } = await generate(ds, tok, prompts, { maxNewTokens: 30, stop: ['='], sampling: { temperature: 1, seed: 1 } });
    for (const o of outputs) {
      assert.ok(!o.text.includes('='), o.text);
      assert.ok(o.stopReason !== 'length' || o.tokens.length === 30);
    }
    assert.ok(outputs.some((o) => o.stopReason === 'stop'));
  });

  it('refuses a negative temperature and a top-p outside (0, 1]', () => {
    assert.throws(() => tokenSampler({ temperature: -1, seed: 0 }, 0, 8), /temperature/);
    assert.throws(() => tokenSampler({ temperature: 1, topP: 0, seed: 0 }, 0, 8), /top_p/);
    assert.throws(() => tokenSampler({ temperature: 1, topP: 1.5, seed: 0 }, 0, 8), /top_p/);
  });
});

describe('the token sampler', () => {
  const logits = Float32Array.from([2.0, -1.0, 0.5, 3.0, 0.5, -4.0, 1.0, 0.0]);
  const vocab = logits.length;

  /** softmax(logits / T) restricted to the nucleus, computed independently: sorted, cumulated. */
  function expected(T: number, topP: number): number[] {
    const e = Array.from(logits, (l) => Math.exp(l / T));
    const z = e.reduce((a, b) => a + b, 0);
    const p = e.map((x) => x / z);
    const order = p.map((_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
    const keep = new Set<number>();
    let mass = 0;
    for (const i of order) {
      if (mass >= topP) break;
      keep.add(i);
      mass += p[i];
    }
    const kept = p.map((x, i) => (keep.has(i) ? x : 0));
    const total = kept.reduce((a, b) => a + b, 0);
    return kept.map((x) => x / total);
  }

  for (const [T, topP] of [
    [1, 1],
    [0.7, 1],
    [1.5, 0.9],
    [1, 0.5],
  ] as const) {
    it(`draws from the nucleus with the right frequencies (T=${T}, top_p=${topP})`, () => {
      const want = expected(T, topP);
      const counts = new Array<number>(vocab).fill(0);
      const N = 20000;
      // Evenly spaced u values: the frequencies are the distribution's, up to 1/N.
      for (let k = 0; k < N; k++) counts[sampleToken(logits, 0, vocab, T, topP, (k + 0.5) / N)]++;
      counts.forEach((c, v) => {
        if (want[v] === 0) assert.equal(c, 0, `token ${v} is outside the nucleus`);
        else assert.ok(Math.abs(c / N - want[v]) < 2e-4, `token ${v}: ${c / N} vs ${want[v]}`);
      });
    });
  }

  it('breaks ties at the edge of the nucleus toward the lower token ids', () => {
    const flat = new Float32Array(8).fill(1); // eight equally likely tokens
    const seen = new Set<number>();
    for (let k = 0; k < 1000; k++) seen.add(sampleToken(flat, 0, 8, 1, 0.3, (k + 0.5) / 1000));
    // 0.3 of the mass takes three tokens (0.375 >= 0.3): the three lowest ids.
    assert.deepEqual([...seen].sort(), [0, 1, 2]);
  });

  it('gives each sequence its own stream: seeds differ by index and by call seed', () => {
    const seeds = new Set<number>();
    for (const s of [0, 1, 2]) for (let i = 0; i < 50; i++) seeds.add(sequenceSeed(s, i));
    assert.equal(seeds.size, 150);
  });
});
