// JSON Lines benchmark files: one JSON object per line; blank lines are skipped.
import * as path from 'node:path';
import { BenchmarkError } from './benchmarkError';
import type { RawRecord } from './records';

function describe(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Parses the records of a JSONL text, at most `limit` of them; errors name file:line. */
export function parseJsonl(file: string, text: string, limit = Infinity): RawRecord[] {
  const name = path.basename(file);
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const records: RawRecord[] = [];
  for (let i = 0; i < lines.length && records.length < limit; i++) {
    const line = i + 1;
    if (!lines[i].trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(lines[i]);
    } catch (err) {
      const hint = line === 1 && /^\s*\[/.test(lines[i]) ? ' (a JSON array? JSONL has one object per line)' : '';
      throw new BenchmarkError(file, `not valid JSON: ${(err as Error).message}${hint}`, { line });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new BenchmarkError(file, `expected a JSON object, found ${describe(value)}`, { line });
    }
    records.push({ fields: value as Record<string, unknown>, at: { line }, id: `${name}:${line}` });
  }
  return records;
}
