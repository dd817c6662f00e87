// The LLM factory on any OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, Ollama,
// transformers serve): the chat or completions API with n, temperature, top_p, max_tokens, seed
// and stop; a bounded number of requests in flight; a timeout on every request; retries with
// exponential backoff (honouring Retry-After) on network errors, 408, 429 and 5xx. Replies are read
// as JSON or as an event stream (some servers stream even when asked not to). A server that
// returns fewer choices than `n` (several ignore `n`) is asked again for the rest.
// The key comes from an environment variable of this process, never from the request.
import type { Completion, GenerateParams, GenerateResult, OpenAiGenerator } from '../../protocol/backend';
import { sseData } from './sse';

export class GeneratorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeneratorError';
  }
}

interface Choice {
  index?: number;
  text?: string;
  message?: { content?: string | null };
  delta?: { content?: string | null };
  finish_reason?: string | null;
}

interface Reply {
  choices?: Choice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  model?: string;
  error?: { message?: string } | string;
}

/** The choices of a reply (JSON, or an event stream whose chunks are merged by choice index). */
export function readReply(body: string, contentType: string): { choices: { text: string; finishReason: string | null }[]; usage?: Reply['usage']; model?: string } {
  const streamed = contentType.includes('text/event-stream') || /^\s*data:/.test(body);
  const chunks: Reply[] = (streamed ? sseData(body) : [body]).map((d) => {
    try {
      return JSON.parse(d) as Reply;
    } catch {
      throw new GeneratorError(`the server's reply is not JSON: ${d.slice(0, 200)}`);
    }
  });
  const byIndex = new Map<number, { text: string; finishReason: string | null }>();
  let usage: Reply['usage'];
  let model: string | undefined;
  for (const c of chunks) {
    if (c.error) throw new GeneratorError(`the server answered with an error: ${typeof c.error === 'string' ? c.error : c.error.message ?? JSON.stringify(c.error)}`);
    usage = c.usage ?? usage;
    model = c.model ?? model;
    for (const [k, ch] of (c.choices ?? []).entries()) {
      const i = ch.index ?? k;
      const entry = byIndex.get(i) ?? { text: '', finishReason: null };
      entry.text += ch.text ?? ch.message?.content ?? ch.delta?.content ?? '';
      entry.finishReason = ch.finish_reason ?? entry.finishReason;
      byIndex.set(i, entry);
    }
  }
  const choices = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  // A stream always ends each choice with its finish_reason; one that stops before has failed
  // on the server (transformers serve, for one, ends the stream silently when generate raises).
  if (streamed && choices.some((c) => c.finishReason === null)) {
    throw new GeneratorError("the server's event stream ended before the completion finished (no finish_reason): generation failed on the server, whose log says why");
  }
  return { choices, usage, model };
}

const RETRYABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504]);
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

export interface OpenAiOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  env?: NodeJS.ProcessEnv;
  /** Base of the backoff in ms (tests shorten it). */
  backoffMs?: number;
  fetchImpl?: typeof fetch;
}

export async function generateWithOpenAi(params: GenerateParams & { generator: OpenAiGenerator }, opts: OpenAiOptions = {}): Promise<GenerateResult> {
  const g = params.generator;
  const s = params.sampling;
  const started = performance.now();
  const env = opts.env ?? process.env;
  // The variable the config names, else the key VS Code keeps in its secret storage.
  const key = env[g.apiKeyEnv ?? 'OPENAI_API_KEY'] || env.SELFDEV_LLM_API_KEY;
  const url = `${g.baseUrl.replace(/\/+$/, '')}/${g.api === 'chat' ? 'chat/completions' : 'completions'}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (key) headers.authorization = `Bearer ${key}`;
  const doFetch = opts.fetchImpl ?? fetch;
  const backoff = opts.backoffMs ?? 500;

  /** One request for k samples starting at sample `first`; retried as the class says. */
  const request = async (first: number, k: number) => {
    const body: Record<string, unknown> = {
      model: g.model,
      n: k,
      temperature: s.temperature,
      top_p: s.topP,
      max_tokens: s.maxTokens,
      seed: s.seed + first,
      stream: false,
      ...(s.stop.length ? { stop: s.stop } : {}),
      ...(g.api === 'chat' ? { messages: [{ role: 'user', content: params.prompt }] } : { prompt: params.prompt }),
    };
    for (let attempt = 0; ; attempt++) {
      opts.signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(g.timeoutSeconds * 1000);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      let status = 0;
      let problem: string;
      let retryAfter: number | undefined;
      try {
        const res = await doFetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
        status = res.status;
        const text = await res.text();
        if (res.ok) return { ...readReply(text, res.headers.get('content-type') ?? ''), seed: s.seed + first };
        const ra = Number(res.headers.get('retry-after'));
        retryAfter = Number.isFinite(ra) && ra >= 0 ? ra * 1000 : undefined;
        problem = `HTTP ${status}: ${text.slice(0, 300).trim()}`;
        if (status === 401 || status === 403) problem += key ? ` (the key was refused: check $${g.apiKeyEnv ?? 'OPENAI_API_KEY'} or "Self-Developing: Set LLM API Key")` : ` (no key: set $${g.apiKeyEnv ?? 'OPENAI_API_KEY'} or store one with "Self-Developing: Set LLM API Key")`;
        if (status === 404) problem += ` (is ${url} an OpenAI-compatible ${g.api} endpoint? Some servers have no completions API: try "api": "chat")`;
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        if (err instanceof GeneratorError) throw err;
        problem = timeout.aborted ? `no answer within ${g.timeoutSeconds} s` : `cannot reach ${url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`;
      }
      const retryable = status === 0 || RETRYABLE.has(status);
      if (!retryable || attempt >= g.retries) throw new GeneratorError(`${g.model} at ${g.baseUrl}: ${problem}${retryable ? ` (after ${attempt + 1} tries)` : ''}`);
      await sleep(retryAfter ?? backoff * 2 ** attempt * (0.75 + 0.5 * Math.random()), opts.signal);
    }
  };

  const completions: Completion[] = [];
  let promptTokens: number | undefined;
  let model = g.model;
  let next = 0; // the first sample not yet asked for
  const worker = async () => {
    while (next < params.n) {
      const first = next;
      const k = Math.min(g.samplesPerRequest, params.n - first);
      next += k;
      // A server that ignores `n` returns one choice: ask again for the rest.
      for (let filled = 0; filled < k; ) {
        const reply = await request(first + filled, k - filled);
        if (reply.choices.length === 0) throw new GeneratorError(`${g.model} at ${g.baseUrl}: a reply with no choices`);
        model = reply.model ?? model;
        promptTokens = reply.usage?.prompt_tokens ?? promptTokens;
        const got = reply.choices.slice(0, k - filled);
        got.forEach((c, j) =>
          completions.push({
            index: first + filled + j,
            text: c.text,
            finishReason: c.finishReason === 'length' ? 'length' : 'stop',
            promptTokens: reply.usage?.prompt_tokens,
            completionTokens: reply.choices.length === 1 ? reply.usage?.completion_tokens : undefined,
            seed: reply.seed,
          }),
        );
        filled += got.length;
        opts.onProgress?.(completions.length, params.n);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(g.concurrency, Math.ceil(params.n / g.samplesPerRequest))) }, worker));
  completions.sort((a, b) => a.index - b.index);
  return {
    jobId: params.jobId,
    model,
    promptText: params.prompt,
    chat: g.api === 'chat',
    completions,
    timings: { total: (performance.now() - started) / 1000, ...(promptTokens !== undefined ? { promptTokens } : {}) },
  };
}
