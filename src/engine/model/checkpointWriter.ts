// Writes a merged model as a complete Hugging Face checkpoint: the seed's files (config,
// tokenizer, generation config...) and every weight, the merge scope's tensors taken from the
// runner's merged file and the rest from the seed, in the seed's dtype. Tensors are streamed
// file to file in bounded chunks, so memory stays below one tensor whatever the model's size.
// The folder appears only when complete: it is written under a temporary name and renamed.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ModelError } from './errors';
import { openHfModel } from './hfModel';
import { readSafetensorsHeader, safetensorsHeader, type TensorInfo } from './safetensors';

/** transformers' default `max_shard_size` for save_pretrained. */
export const DEFAULT_MAX_SHARD_BYTES = 5 * 10 ** 9;
const CHUNK = 8 * 2 ** 20;

/** Files of a model folder that hold weights in some format: never copied from the seed (the
 * checkpoint's own weights replace them; another format's would be the seed's, not the merge). */
const WEIGHT_FILE = /\.(safetensors|bin|pt|pth|ckpt|gguf|ggml|onnx|onnx_data|h5|msgpack|npz|pkl)$|\.index\.json$/i;

export interface CheckpointOptions {
  seedFolder: string;
  /** safetensors file with the merge scope's merged tensors (absent: the seed itself). */
  overlayFile?: string;
  overlay?: Map<string, TensorInfo>;
  out: string;
  /** Written into every weight file's `__metadata__` next to `format: pt` (strings only). */
  metadata?: Record<string, string>;
  maxShardBytes?: number;
  /** The model card (README.md). */
  card?: string;
  /** Extra files written into the folder (name -> text), e.g. provenance JSON. */
  extraFiles?: Record<string, string>;
  signal?: AbortSignal;
  /** Bytes of weights written so far, of the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface CheckpointResult {
  folder: string;
  /** The weight files, in order. */
  weightFiles: string[];
  /** Files copied from the seed (config, tokenizer ...). */
  copied: string[];
  totalBytes: number;
  tensors: number;
  /** Tensors taken from the merged file. */
  merged: number;
  dtype: string;
}

interface Planned {
  info: TensorInfo;
  /** Where the bytes come from: the seed's tensor or the merged one. */
  source: TensorInfo;
}

/** The folder must not exist, or be empty: an export never overwrites anything. */
async function checkTarget(out: string): Promise<void> {
  const entries = await fs.readdir(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    if (err.code === 'ENOTDIR') throw new Error(`${out} is a file; the export needs a new folder`);
    throw err;
  });
  if (entries.length) throw new Error(`${out} already exists and is not empty; choose another --out folder (an export never overwrites)`);
}

/** Free bytes where `dir` is (undefined where the platform cannot say). */
async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await fs.statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

function shardName(i: number, n: number): string {
  return n === 1 ? 'model.safetensors' : `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
}

/** Groups tensors into shards of at most `max` bytes (a larger tensor gets a shard of its own). */
function shard(tensors: Planned[], max: number): Planned[][] {
  const shards: Planned[][] = [];
  let current: Planned[] = [];
  let size = 0;
  for (const t of tensors) {
    if (current.length && size + t.info.length > max) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += t.info.length;
  }
  if (current.length || !shards.length) shards.push(current);
  return shards;
}

export async function writeCheckpoint(o: CheckpointOptions): Promise<CheckpointResult> {
  const seed = await openHfModel(o.seedFolder);
  const overlay = o.overlay ?? (o.overlayFile ? await readSafetensorsHeader(o.overlayFile) : new Map<string, TensorInfo>());
  for (const [name, t] of overlay) {
    const s = seed.tensors.get(name);
    if (!s) throw new ModelError(t.file, `merged tensor ${name} is not a tensor of the seed model`);
    if (s.dtype !== t.dtype || s.shape.join(',') !== t.shape.join(',')) {
      throw new ModelError(t.file, `merged tensor ${name} is ${t.dtype}[${t.shape}] but the seed's is ${s.dtype}[${s.shape}]`);
    }
  }
  // The seed's own order (file, then offset), so the export reads each seed file front to back.
  const planned: Planned[] = [...seed.tensors.values()]
    .sort((a, b) => a.file.localeCompare(b.file) || a.offset - b.offset)
    .map((info) => ({ info, source: overlay.get(info.name) ?? info }));
  const totalBytes = planned.reduce((n, t) => n + t.info.length, 0);
  const out = path.resolve(o.out);
  await checkTarget(out);
  const parent = path.dirname(out);
  await fs.mkdir(parent, { recursive: true });
  const free = await freeBytes(parent);
  if (free !== undefined && free < totalBytes + 2 ** 20) {
    throw new Error(`not enough space for the checkpoint in ${parent}: it needs ${gb(totalBytes)} and ${gb(free)} is free`);
  }

  const shards = shard(planned, o.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES);
  const metadata = { format: 'pt', ...(o.metadata ?? {}) };
  const partial = `${out}.partial-${process.pid}`;
  await fs.rm(partial, { recursive: true, force: true });
  await fs.mkdir(partial, { recursive: true });
  const readers = new Map<string, fs.FileHandle>();
  try {
    const copied: string[] = [];
    for (const e of await fs.readdir(seed.folder, { withFileTypes: true })) {
      if (!e.isFile() || e.name.startsWith('.') || WEIGHT_FILE.test(e.name) || e.name === 'README.md') continue;
      await fs.copyFile(path.join(seed.folder, e.name), path.join(partial, e.name));
      copied.push(e.name);
    }
    const buffer = Buffer.allocUnsafe(CHUNK);
    let written = 0;
    const weightFiles: string[] = [];
    const weightMap: Record<string, string> = {};
    for (const [i, tensors] of shards.entries()) {
      const name = shardName(i, shards.length);
      weightFiles.push(name);
      const w = await fs.open(path.join(partial, name), 'w');
      try {
        await w.write(safetensorsHeader(tensors.map((t) => t.info), metadata));
        for (const { info, source } of tensors) {
          weightMap[info.name] = name;
          let r = readers.get(source.file);
          if (!r) readers.set(source.file, (r = await fs.open(source.file, 'r')));
          for (let at = 0; at < source.length; ) {
            if (o.signal?.aborted) throw new Error('export cancelled');
            const n = Math.min(CHUNK, source.length - at);
            const { bytesRead } = await r.read(buffer, 0, n, source.offset + at);
            if (bytesRead !== n) throw new ModelError(source.file, `tensor ${source.name} ends early (the file was truncated while exporting?)`);
            await w.write(buffer, 0, n);
            at += n;
            written += n;
          }
          o.onProgress?.(written, totalBytes);
        }
      } finally {
        await w.close();
      }
    }
    if (shards.length > 1) {
      const sorted = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
      await fs.writeFile(path.join(partial, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: sorted }, null, 2)}\n`);
    }
    if (o.card !== undefined) await fs.writeFile(path.join(partial, 'README.md'), o.card);
    for (const [file, text] of Object.entries(o.extraFiles ?? {})) {
      if (path.basename(file) !== file) throw new Error(`extra file ${file} must be a plain file name`);
      await fs.writeFile(path.join(partial, file), text);
    }
    // The target may have been created empty meanwhile (or by the user beforehand): replace it.
    await fs.rmdir(out).catch(() => undefined);
    await fs.rename(partial, out);
    const dtypes = [...new Set(planned.map((t) => t.info.dtype))];
    return { folder: out, weightFiles, copied: copied.sort(), totalBytes, tensors: planned.length, merged: overlay.size, dtype: dtypes.join('+') };
  } catch (err) {
    await fs.rm(partial, { recursive: true, force: true }).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new Error(`no space left while writing the checkpoint to ${parent} (it needs ${gb(totalBytes)}); nothing was kept`);
    throw err;
  } finally {
    for (const r of readers.values()) await r.close();
  }
}

function gb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
