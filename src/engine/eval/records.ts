// Raw benchmark records, before they become BenchmarkItems: the fields of one JSONL line or
// parquet row and where it came from.
import type { BenchmarkLocation } from './benchmarkError';

export interface RawRecord {
  fields: Record<string, unknown>;
  at: BenchmarkLocation;
  /** Stable id: `<file name>:<line>` or `<file name>:<row>`. */
  id: string;
}
