// Reads the header of a safetensors file (8-byte little-endian length, then JSON) and checks it
// against the file, without reading the tensor data: a 14 GB checkpoint costs a few KB here.
import { promises as fs } from 'node:fs';
import { ModelError } from './errors';

export const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 } as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  file: string;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  length: number;
}

const MAX_HEADER = 100 * 2 ** 20;

export async function readSafetensorsHeader(file: string): Promise<Map<string, TensorInfo>> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError(file, code === 'ENOENT' ? 'file not found' : `cannot be opened (${code})`);
  }
  try {
    const { size } = await handle.stat();
    if (size < 8) throw new ModelError(file, `truncated: ${size} bytes, not even a header length`);
    const lenBuf = Buffer.alloc(8);
    await handle.read(lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER || 8 + headerLen > size) {
      throw new ModelError(file, `header length ${headerLen} does not fit a file of ${size} bytes (truncated or not safetensors)`);
    }
    const headerBuf = Buffer.alloc(headerLen);
    await handle.read(headerBuf, 0, headerLen, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new ModelError(file, 'header is not valid JSON (not a safetensors file?)');
    }
    return parseHeader(file, header, 8 + headerLen, size);
  } finally {
    await handle.close();
  }
}

function parseHeader(file: string, header: Record<string, unknown>, dataStart: number, size: number): Map<string, TensorInfo> {
  const tensors = new Map<string, TensorInfo>();
  const dataSize = size - dataStart;
  let maxEnd = 0;
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = entry.dtype as SafetensorsDtype;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
      throw new ModelError(file, `tensor ${name}: unsupported dtype ${JSON.stringify(entry.dtype)}`);
    }
    const shape = entry.shape;
    const offsets = entry.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ModelError(file, `tensor ${name}: bad shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
      throw new ModelError(file, `tensor ${name}: bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const length = offsets[1] - offsets[0];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (length !== expected) {
      throw new ModelError(file, `tensor ${name}: header says ${length} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`);
    }
    if (offsets[1] > dataSize) {
      throw new ModelError(file, `truncated: tensor ${name} ends at byte ${dataStart + offsets[1]} but the file has ${size} bytes`);
    }
    maxEnd = Math.max(maxEnd, offsets[1]);
    tensors.set(name, { name, dtype, shape: shape as number[], file, offset: dataStart + offsets[0], length });
  }
  checkNoOverlap(file, tensors, dataStart);
  return tensors;
}

function checkNoOverlap(file: string, tensors: Map<string, TensorInfo>, dataStart: number): void {
  const sorted = [...tensors.values()].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (sorted[i].offset < prev.offset + prev.length && sorted[i].length > 0 && prev.length > 0) {
      throw new ModelError(file, `tensors ${prev.name} and ${sorted[i].name} overlap (bytes ${prev.offset - dataStart}..)`);
    }
  }
}

/** Reads one tensor's bytes (only for small tensors and tests; inference maps the file instead). */
export async function readTensorBytes(info: TensorInfo): Promise<Buffer> {
  const handle = await fs.open(info.file, 'r');
  try {
    const buf = Buffer.alloc(info.length);
    await handle.read(buf, 0, info.length, info.offset);
    return buf;
  } finally {
    await handle.close();
  }
}

/** Widens F32, F16 or BF16 data to float32. */
export function toFloat32(info: TensorInfo, bytes: Buffer): Float32Array {
  const n = info.length / DTYPE_BYTES[info.dtype];
  const out = new Float32Array(n);
  if (info.dtype === 'F32') {
    for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(i * 4);
  } else if (info.dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = bytes.readUInt16LE(i * 2) << 16;
  } else if (info.dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes.readUInt16LE(i * 2));
  } else {
    throw new ModelError(info.file, `tensor ${info.name}: ${info.dtype} is not a floating-point dtype`);
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** The bytes before a safetensors file's data: the header's length, then its JSON (with
 * `__metadata__` when given), the tensors' data following in the order given. */
export function safetensorsHeader(tensors: { name: string; dtype: SafetensorsDtype; shape: number[]; length: number }[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.length] };
    offset += t.length;
  }
  let json = JSON.stringify(header);
  json = json.padEnd(Math.ceil(Buffer.byteLength(json) / 8) * 8, ' '); // keeps the data 8-byte aligned
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json)]);
}

/** Writes tensors (raw little-endian bytes) as a safetensors file. */
export async function writeSafetensors(file: string, tensors: { name: string; dtype: SafetensorsDtype; shape: number[]; data: Uint8Array }[]): Promise<void> {
  const header = safetensorsHeader(tensors.map((t) => ({ ...t, length: t.data.byteLength })));
  await fs.writeFile(file, Buffer.concat([header, ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]));
}
