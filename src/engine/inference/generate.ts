// Batched generation with the KV cache: prompts sorted by length into left-padded batches,
// greedy (argmax, ties to the lowest id) or sampled (temperature, top-p) decoding, stop at EOS,
// a stop string or the token limit. Written here rather than taken from a library because it
// must drive our own graph and cache layout, stay deterministic, and drop finished rows from the
// batch.
import type { TextTokenizer } from '../model/tokenizer';
import { DecoderState } from './decoderState';
import { type Sampling, tokenSampler } from './sampling';
import type { DecoderSession } from './session';

export type { Sampling } from './sampling';

export interface GenerationOptions {
  maxNewTokens: number;
  /** Strings that end a completion; the completion is cut before the first one. */
  stop?: string[];
  /** Token ids that end a completion (default: the model's eos ids). */
  eosTokenIds?: number[];
  batchSize?: number;
  padTokenId?: number;
  /** false: recompute the whole sequence every step, one prompt at a time (the benchmark's baseline). */
  useCache?: boolean;
  /** Absent or temperature 0: greedy. Each prompt draws from its own generator seeded by
   * (seed, prompt index), so results do not depend on batching or on the other prompts. */
  sampling?: Sampling;
  signal?: AbortSignal;
  onProgress?: (doneSequences: number, total: number) => void;
}

export interface Generation {
  tokens: number[];
  text: string;
  stopReason: 'eos' | 'stop' | 'length';
}

export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  forwardPasses: number;
  seconds: number;
}

/** Drop finished rows from the batch once at most this share of it is still generating. */
const COMPACT_WHEN = 0.75;

export class GenerationCancelled extends Error {
  constructor() {
    super('generation cancelled');
    this.name = 'GenerationCancelled';
  }
}

export async function generate(
  ds: DecoderSession,
  tokenizer: TextTokenizer,
  prompts: number[][],
  opts: GenerationOptions,
): Promise<{ outputs: Generation[]; stats: GenerationStats }> {
  const started = performance.now();
  const vocab = ds.model.config.vocabSize;
  const stopStrings = opts.stop ?? [];
  const eos = new Set(opts.eosTokenIds ?? ds.model.config.eosTokenIds);
  for (const s of stopStrings) {
    const id = tokenizer.tokenId(s);
    if (id !== undefined && tokenizer.decode([id], true) === '') eos.add(id); // a special token such as </s>
  }
  const textStops = stopStrings.filter((s) => tokenizer.tokenId(s) === undefined || tokenizer.decode([tokenizer.tokenId(s)!], true) !== '');
  const useCache = opts.useCache ?? true;
  const batchSize = useCache ? Math.max(1, opts.batchSize ?? 32) : 1;
  const pad = opts.padTokenId ?? 0;
  const stats: GenerationStats = { promptTokens: 0, generatedTokens: 0, forwardPasses: 0, seconds: 0 };
  const outputs: Generation[] = new Array(prompts.length);
  const order = prompts.map((_, i) => i).sort((a, b) => prompts[a].length - prompts[b].length || a - b);
  const pick = prompts.map((_, i) => tokenSampler(opts.sampling, i, vocab));
  let done = 0;

  const finish = (i: number, tokens: number[], stopReason: Generation['stopReason']) => {
    let text = tokenizer.decode(tokens, true);
    for (const s of textStops) {
      const k = text.indexOf(s);
      if (k >= 0) text = text.slice(0, k);
    }
    outputs[i] = { tokens, text, stopReason };
    stats.generatedTokens += tokens.length;
    opts.onProgress?.(++done, prompts.length);
  };
  // Decoding the whole completion each step is O(n) per step: small next to a forward pass,
  // and right for stop strings that span several tokens.
  const hitsStop = (tokens: number[]) => {
    if (textStops.length === 0) return false;
    const text = tokenizer.decode(tokens, true);
    return textStops.some((s) => text.includes(s));
  };

  for (let s = 0; s < order.length; s += batchSize) {
    if (opts.signal?.aborted) throw new GenerationCancelled();
    const rows = order.slice(s, s + batchSize);
    for (const i of rows) stats.promptTokens += prompts[i].length;
    if (!useCache) {
      for (const i of rows) finish(i, ...(await generateWithoutCache(ds, prompts[i], opts.maxNewTokens, eos, hitsStop, pad, stats, pick[i], opts.signal)));
      continue;
    }
    const gen: number[][] = rows.map(() => []);
    const active = rows.map(() => true);
    // live[k] = which row of `rows` the k-th row of the decoder state holds.
    let live = rows.map((_, r) => r);
    const { state, out } = await DecoderState.prefill(ds, rows.map((i) => prompts[i]), pad);
    stats.forwardPasses++;
    let logits = out.lastLogits;
    try {
      for (;;) {
        const next = live.map((r, k) => pick[rows[r]](logits, k));
        live.forEach((r, k) => {
          if (!active[r]) return; // finished, but not yet dropped from the batch
          const i = rows[r];
          if (eos.has(next[k])) {
            active[r] = false;
            finish(i, gen[r], 'eos');
            return;
          }
          gen[r].push(next[k]);
          if (hitsStop(gen[r])) {
            active[r] = false;
            finish(i, gen[r], 'stop');
          } else if (gen[r].length >= opts.maxNewTokens) {
            active[r] = false;
            finish(i, gen[r], 'length');
          }
        });
        const still = live.map((r, k) => [r, k] as const).filter(([r]) => active[r]);
        if (still.length === 0) break;
        if (opts.signal?.aborted) throw new GenerationCancelled();
        let feed = still.map(([, k]) => next[k]);
        if (still.length <= live.length * COMPACT_WHEN) {
          state.keepRows(still.map(([, k]) => k));
          live = still.map(([r]) => r);
        } else {
          feed = live.map((r, k) => (active[r] ? next[k] : pad));
        }
        logits = (await state.step(feed)).lastLogits;
        stats.forwardPasses++;
      }
    } finally {
      state.dispose();
    }
  }
  stats.seconds = (performance.now() - started) / 1000;
  return { outputs, stats };
}

async function generateWithoutCache(
  ds: DecoderSession,
  prompt: number[],
  maxNewTokens: number,
  eos: Set<number>,
  hitsStop: (t: number[]) => boolean,
  pad: number,
  stats: GenerationStats,
  pick: (logits: Float32Array, row: number) => number,
  signal?: AbortSignal,
): Promise<[number[], Generation['stopReason']]> {
  const gen: number[] = [];
  while (gen.length < maxNewTokens) {
    if (signal?.aborted) throw new GenerationCancelled();
    const { state, out } = await DecoderState.prefill(ds, [[...prompt, ...gen]], pad);
    state.dispose();
    stats.forwardPasses++;
    const t = pick(out.lastLogits, 0);
    if (eos.has(t)) return [gen, 'eos'];
    gen.push(t);
    if (hitsStop(gen)) return [gen, 'stop'];
  }
  return [gen, 'length'];
}
