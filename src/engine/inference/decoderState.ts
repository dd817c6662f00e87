// One batch's pass through a decoder session: a left-padded prompt step, then one token per
// step with the KV cache carried between steps. Each cache tensor has two buffers in turn: a
// step reads the past from one and onnxruntime writes the present straight into the other (a
// pre-allocated output), so no step allocates or copies a cache outside the graph's own Concat.
import * as ort from 'onnxruntime-node';
import { pastName, presentName } from '../model/decoderGraph';
import type { DecoderSession } from './session';

export interface StepOutput {
  /** [batch, vocab] logits of each row's last position. */
  lastLogits: Float32Array;
  /** [batch, seq, vocab] logits of every position, when asked for. */
  logits?: Float32Array;
}

export class DecoderState {
  private mask: BigInt64Array;
  private positions: number[];
  private past: Record<string, ort.Tensor>;
  /** Per cache tensor: the buffer behind its past, and the other one, which the next present fills. */
  private held: Record<string, Float32Array> = {};
  private spare: Record<string, Float32Array> = {};
  batch: number;
  private total = 0;

  private constructor(
    private readonly ds: DecoderSession,
    batch: number,
  ) {
    this.batch = batch;
    this.mask = new BigInt64Array(0);
    this.positions = new Array<number>(batch).fill(-1);
    const { numLayers, numKvHeads, headDim } = ds.model.config;
    this.past = {};
    for (let l = 0; l < numLayers; l++) {
      for (const kind of ['key', 'value'] as const) {
        this.past[pastName(l, kind)] = new ort.Tensor('float32', new Float32Array(0), [batch, numKvHeads, 0, headDim]);
      }
    }
  }

  /** Starts a batch with its prompts, left-padded to the longest. */
  static async prefill(ds: DecoderSession, prompts: number[][], padId: number, allLogits = false): Promise<{ state: DecoderState; out: StepOutput }> {
    const state = new DecoderState(ds, prompts.length);
    const len = Math.max(...prompts.map((p) => p.length));
    if (len === 0) throw new Error('empty prompt');
    const ids = new BigInt64Array(prompts.length * len).fill(BigInt(padId));
    const mask = new BigInt64Array(prompts.length * len);
    const pos = new BigInt64Array(prompts.length * len);
    prompts.forEach((p, b) => {
      const pad = len - p.length;
      for (let i = 0; i < p.length; i++) {
        ids[b * len + pad + i] = BigInt(p[i]);
        mask[b * len + pad + i] = 1n;
        pos[b * len + pad + i] = BigInt(i);
      }
      state.positions[b] = p.length - 1;
    });
    state.mask = mask;
    const out = await state.run(ids, pos, len, allLogits);
    return { state, out };
  }

  /** Feeds one token per row (rows that are done may get any token; their output is ignored). */
  async step(tokens: number[], allLogits = false): Promise<StepOutput> {
    const b = this.batch;
    const oldT = this.total;
    const mask = new BigInt64Array(b * (oldT + 1));
    for (let r = 0; r < b; r++) {
      mask.set(this.mask.subarray(r * oldT, (r + 1) * oldT), r * (oldT + 1));
      mask[r * (oldT + 1) + oldT] = 1n;
    }
    this.mask = mask;
    const pos = BigInt64Array.from(this.positions.map((p) => BigInt(p + 1)));
    this.positions = this.positions.map((p) => p + 1);
    return this.run(BigInt64Array.from(tokens.map(BigInt)), pos, 1, allLogits);
  }

  /**
   * Keeps only the given rows (in that order): finished sequences stop costing compute.
   * Copies the cache once, which costs about what one step reads anyway.
   */
  keepRows(rows: number[]): void {
    const T = this.total;
    const mask = new BigInt64Array(rows.length * T);
    rows.forEach((r, i) => mask.set(this.mask.subarray(r * T, (r + 1) * T), i * T));
    for (const [name, t] of Object.entries(this.past)) {
      const [, kv, len, hd] = t.dims;
      const rowSize = kv * len * hd;
      const src = t.data as Float32Array;
      const data = this.buffer(name, rows.length * rowSize);
      rows.forEach((r, i) => data.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
      this.swap(name, new ort.Tensor('float32', data.subarray(0, rows.length * rowSize), [rows.length, kv, len, hd]));
    }
    this.mask = mask;
    this.positions = rows.map((r) => this.positions[r]);
    this.batch = rows.length;
  }

  get length(): number {
    return this.total;
  }

  private async run(ids: BigInt64Array, pos: BigInt64Array, seq: number, allLogits: boolean): Promise<StepOutput> {
    const b = this.batch;
    const total = this.total + seq;
    if (allLogits && !this.ds.session.outputNames.includes('logits')) {
      throw new Error('every position\'s logits were asked for, but the session was created without allLogits');
    }
    if (Math.max(...this.positions) >= this.ds.maxContext) {
      throw new Error(`sequence longer than the session's context of ${this.ds.maxContext} tokens`);
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [b, seq]),
      attention_mask: new ort.Tensor('int64', this.mask, [b, total]),
      position_ids: new ort.Tensor('int64', pos, [b, seq]),
      ...this.past,
      ...this.ds.weightFeeds,
    };
    const { numLayers, numKvHeads, headDim } = this.ds.model.config;
    const fetches: Record<string, ort.Tensor | null> = { [allLogits ? 'logits' : 'last_logits']: null };
    const size = b * numKvHeads * total * headDim;
    for (let l = 0; l < numLayers; l++) {
      for (const kind of ['key', 'value'] as const) {
        const present = this.buffer(pastName(l, kind), size).subarray(0, size);
        fetches[presentName(l, kind)] = new ort.Tensor('float32', present, [b, numKvHeads, total, headDim]);
      }
    }
    const result = await this.ds.session.run(feeds, fetches);
    for (let l = 0; l < numLayers; l++) {
      for (const kind of ['key', 'value'] as const) this.swap(pastName(l, kind), fetches[presentName(l, kind)]!);
    }
    this.total = total;
    if (allLogits) {
      const logits = result.logits.data as Float32Array;
      const V = this.ds.model.config.vocabSize;
      const last = new Float32Array(b * V);
      for (let r = 0; r < b; r++) last.set(logits.subarray((r * seq + seq - 1) * V, (r * seq + seq) * V), r * V);
      return { lastLogits: last, logits };
    }
    return { lastLogits: result.last_logits.data as Float32Array };
  }

  /** The spare buffer of a cache tensor, with room for `size` values (grown ahead, so a long
   *  generation reallocates a few times, not every step). */
  private buffer(name: string, size: number): Float32Array {
    let buf = this.spare[name];
    if (!buf || buf.length < size) {
      buf = new Float32Array(Math.ceil(size * 1.25) + 1024);
      this.spare[name] = buf;
    }
    return buf;
  }

  /** `present` (a view of the spare buffer) becomes the past; the old past's buffer the spare. */
  private swap(name: string, present: ort.Tensor): void {
    const old = this.held[name];
    this.held[name] = this.spare[name];
    this.spare[name] = old;
    this.past[name] = present;
  }

  dispose(): void {
    this.past = {};
    this.held = {};
    this.spare = {};
  }
}
