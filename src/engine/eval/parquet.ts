// Parquet benchmark files (as Hugging Face datasets publish them), read with hyparquet.
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parquetMetadata, parquetReadObjects, parquetSchema, type Compressors, type FileMetaData } from 'hyparquet';
import { BenchmarkError } from './benchmarkError';
import type { RawRecord } from './records';

const PARQUET_MAGIC = 'PAR1';

/** True when the bytes start like a parquet file. */
export function looksLikeParquet(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && Buffer.from(bytes.subarray(0, 4)).toString('latin1') === PARQUET_MAGIC;
}

// hyparquet decodes snappy itself; node's zlib adds gzip and brotli, and zstd where this node
// has it (22.15 and later). LZ4 and LZO stay unsupported and are reported as such.
function compressors(): Compressors {
  const codecs: Compressors = {
    GZIP: (input) => zlib.gunzipSync(input),
    BROTLI: (input) => zlib.brotliDecompressSync(input),
  };
  const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Uint8Array) => Buffer }).zstdDecompressSync;
  if (zstd) codecs.ZSTD = (input) => zstd(input);
  return codecs;
}

/** An opened parquet file: its top-level column names and a way to read rows of some of them. */
export interface ParquetTable {
  columns: string[];
  rows: number;
  read(columns: string[], limit?: number): Promise<RawRecord[]>;
}

export function openParquet(file: string, bytes: Uint8Array): ParquetTable {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(buffer);
  } catch (err) {
    throw new BenchmarkError(file, `is not a readable parquet file: ${(err as Error).message}`);
  }
  const name = path.basename(file);
  return {
    columns: parquetSchema(metadata).children.map((c) => c.element.name),
    rows: Number(metadata.num_rows),
    async read(columns, limit) {
      let rows: Record<string, unknown>[];
      try {
        rows = await parquetReadObjects({ file: buffer, metadata, columns, rowEnd: limit, compressors: compressors() });
      } catch (err) {
        const message = (err as Error).message;
        const codec = /unsupported compression codec: (\w+)/.exec(message)?.[1];
        throw new BenchmarkError(
          file,
          codec
            ? `is compressed with ${codec}, which this reader cannot decompress; save it with snappy or gzip compression`
            : `cannot read the parquet data: ${message}`,
        );
      }
      return rows.map((fields, row) => ({ fields, at: { row }, id: `${name}:${row}` }));
    },
  };
}
