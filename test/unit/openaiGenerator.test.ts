// The openai generator's handling of what servers do wrong, against a scripted HTTP peer on
// loopback (a real server cannot be made to fail on cue): retries with backoff on 503 and 429
// (honouring Retry-After), a timeout per request, no retry on 400, a clear word on 401 without
// the key, the key sent only as a bearer header, n honoured or made up for, streamed replies.
// The happy path against a real OpenAI-compatible server is in openaiServer.test.ts.
import * as assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateWithOpenAi, GeneratorError, readReply } from '../../src/engine/generators/openaiGenerator';
import type { GenerateParams, OpenAiGenerator } from '../../src/protocol/backend';

type Handler = (body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => void;

describe('the openai generator against a scripted peer', () => {
  let server: Server;
  let base = '';
  let handler: Handler = () => undefined;
  const seen: { body: Record<string, unknown>; auth?: string; url?: string }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let data = '';
      req.on('data', (d) => (data += d));
      req.on('end', () => {
        const body = JSON.parse(data || '{}') as Record<string, unknown>;
        seen.push({ body, auth: req.headers.authorization, url: req.url });
        handler(body, req, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const gen = (over: Partial<OpenAiGenerator> = {}): OpenAiGenerator => ({ kind: 'openai', baseUrl: base, model: 'm', api: 'chat', concurrency: 2, samplesPerRequest: 1, timeoutSeconds: 5, retries: 2, ...over });
  const params = (g: OpenAiGenerator, n = 3): GenerateParams & { generator: OpenAiGenerator } => ({
    jobId: 'j',
    generator: g,
    prompt: 'Write merge.',
    n,
    sampling: { temperature: 0.8, topP: 0.95, maxTokens: 64, seed: 100, stop: ['\n\n\n'] },
  });
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const chatReply = (n: number, text: (i: number) => string) => ({ model: 'served-m', choices: Array.from({ length: n }, (_, i) => ({ index: i, message: { role: 'assistant', content: text(i) }, finish_reason: 'stop' })), usage: { prompt_tokens: 7, completion_tokens: 5 } });

  it('sends the sampling parameters, one seed per sample, the key as a bearer header only', async () => {
    seen.length = 0;
    handler = (b, _q, res) => json(res, 200, chatReply(Number(b.n), () => `sample seed ${String(b.seed)}`));
    const r = await generateWithOpenAi(params(gen()), { env: { OPENAI_API_KEY: 'sk-test-123' } });
    assert.deepEqual(r.completions.map((c) => c.text), ['sample seed 100', 'sample seed 101', 'sample seed 102']);
    assert.deepEqual(r.completions.map((c) => c.index), [0, 1, 2]);
    assert.equal(r.model, 'served-m');
    assert.equal(seen.length, 3);
    for (const s of seen) {
      assert.equal(s.url, '/v1/chat/completions');
      assert.equal(s.auth, 'Bearer sk-test-123');
      assert.deepEqual({ ...s.body, seed: 0 }, { model: 'm', n: 1, temperature: 0.8, top_p: 0.95, max_tokens: 64, seed: 0, stream: false, stop: ['\n\n\n'], messages: [{ role: 'user', content: 'Write merge.' }] });
      assert.ok(!JSON.stringify(s.body).includes('sk-test'), 'the key is never in a body');
    }
  });

  it('asks again for the rest when a server returns fewer choices than n, and uses the completions API when told', async () => {
    seen.length = 0;
    handler = (b, _q, res) => json(res, 200, { choices: [{ index: 0, text: `t${String(b.seed)}`, finish_reason: 'length' }] });
    const r = await generateWithOpenAi(params(gen({ api: 'completions', samplesPerRequest: 4, concurrency: 1 }), 5), { env: {} });
    assert.deepEqual(r.completions.map((c) => c.text), ['t100', 't101', 't102', 't103', 't104']);
    assert.ok(r.completions.every((c) => c.finishReason === 'length'));
    assert.deepEqual(seen.map((s) => [s.url, s.body.n, s.body.prompt]), [
      ['/v1/completions', 4, 'Write merge.'],
      ['/v1/completions', 3, 'Write merge.'],
      ['/v1/completions', 2, 'Write merge.'],
      ['/v1/completions', 1, 'Write merge.'],
      ['/v1/completions', 1, 'Write merge.'],
    ]);
    assert.equal(seen[0].auth, undefined, 'no key, no header');
  });

  it('retries 503 and 429 with backoff, honouring Retry-After, then succeeds', async () => {
    seen.length = 0;
    let calls = 0;
    handler = (b, _q, res) => {
      calls++;
      if (calls === 1) return json(res, 503, { error: { message: 'overloaded' } });
      if (calls === 2) return json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '0' });
      json(res, 200, chatReply(Number(b.n), () => 'ok'));
    };
    const r = await generateWithOpenAi(params(gen({ concurrency: 1 }), 1), { env: {}, backoffMs: 10 });
    assert.deepEqual(r.completions.map((c) => c.text), ['ok']);
    assert.equal(calls, 3);
    assert.ok(seen.every((s) => s.body.seed === 100), 'a retry repeats the same request');
  });

  it('gives up after the configured retries with the last problem', async () => {
    handler = (_b, _q, res) => json(res, 500, { error: 'boom' });
    await assert.rejects(generateWithOpenAi(params(gen({ retries: 1 }), 1), { env: {}, backoffMs: 1 }), (e: unknown) => e instanceof GeneratorError && /HTTP 500/.test(e.message) && /after 2 tries/.test(e.message));
  });

  it('does not retry a 400, and says how to give a key on a 401 without showing it', async () => {
    let calls = 0;
    handler = (_b, _q, res) => (calls++, json(res, 400, { error: { message: 'bad top_p' } }));
    await assert.rejects(generateWithOpenAi(params(gen(), 1), { env: {}, backoffMs: 1 }), /HTTP 400.*bad top_p/);
    assert.equal(calls, 1);
    handler = (_b, _q, res) => json(res, 401, { error: { message: 'invalid key' } });
    await assert.rejects(generateWithOpenAi(params(gen({ apiKeyEnv: 'MY_KEY' }), 1), { env: {} }), /no key: set \$MY_KEY/);
    await assert.rejects(
      generateWithOpenAi(params(gen({ apiKeyEnv: 'MY_KEY' }), 1), { env: { MY_KEY: 'sk-secret-999' } }),
      (e: unknown) => e instanceof Error && /the key was refused: check \$MY_KEY/.test(e.message) && !e.message.includes('sk-secret-999'),
    );
  });

  it('times out a request that never answers, and retries it', async () => {
    let calls = 0;
    handler = (_b, _q, res) => {
      if (++calls === 1) return; // never answers
      json(res, 200, chatReply(1, () => 'late but fine'));
    };
    const r = await generateWithOpenAi(params(gen({ timeoutSeconds: 1, concurrency: 1 }), 1), { env: {}, backoffMs: 1 });
    assert.deepEqual(r.completions.map((c) => c.text), ['late but fine']);
    assert.equal(calls, 2);
  });

  it('stops at once when cancelled', async () => {
    handler = () => undefined;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(generateWithOpenAi(params(gen({ timeoutSeconds: 30 }), 1), { env: {}, signal: controller.signal }), (e: unknown) => (e as Error).name === 'AbortError');
  });

  it('reads a streamed reply (event stream) even when it was asked not to stream', () => {
    const body = [
      'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"def "}}]}',
      'data: {"choices":[{"index":0,"delta":{"content":"merge"}}],"model":"x"}',
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}',
      'data: [DONE]',
      '',
    ].join('\n\n');
    assert.deepEqual(readReply(body, 'text/event-stream'), { choices: [{ text: 'def merge', finishReason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2 }, model: 'x' });
    assert.throws(() => readReply(body.replace(',"finish_reason":"stop"', ''), 'text/event-stream'), /ended before the completion finished/);
    assert.throws(() => readReply('{"error":{"message":"model not loaded"}}', 'application/json'), /model not loaded/);
    assert.throws(() => readReply('<html>', 'text/html'), /not JSON/);
  });
});
