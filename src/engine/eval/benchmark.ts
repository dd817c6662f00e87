// Loading benchmark files (GSM8k or MATH fields, JSONL or parquet) as BenchmarkItems.
import { readFile } from 'node:fs/promises';
import { BenchmarkError } from './benchmarkError';
import { extractBoxed } from './boxed';
import { extractGsmAnswer } from './gsmAnswer';
import { parseJsonl } from './jsonl';
import { canonicalDecimal } from './numbers';
import { looksLikeParquet, openParquet } from './parquet';
import type { RawRecord } from './records';
import type { AnswerKind, BenchmarkItem } from './types';

/** The two field layouts: GSM8k's and MATH's (Hugging Face column names). */
interface Schema {
  question: string;
  solution: string;
  kind: AnswerKind;
}

const GSM: Schema = { question: 'question', solution: 'answer', kind: 'gsm8k' };
const MATH: Schema = { question: 'problem', solution: 'solution', kind: 'boxed' };
// Read when present: MATH's level and type (MATH-500 says subject), and a stated answer.
const OPTIONAL = ['level', 'type', 'subject', 'answer'];

function schemaFor(fields: readonly string[], kind: AnswerKind | undefined): Schema | undefined {
  const fits = [GSM, MATH].filter((s) => fields.includes(s.question) && fields.includes(s.solution));
  return fits.find((s) => s.kind === kind) ?? fits[0];
}

function noSchema(names: readonly string[], noun: 'fields' | 'columns'): string {
  const found = names.length ? names.map((f) => `"${f}"`).join(', ') : 'none';
  return `has neither GSM8k ${noun} ("question", "answer") nor MATH ${noun} ("problem", "solution"); its ${noun}: ${found}`;
}

function text(file: string, r: RawRecord, field: string, numberOk = false): string {
  const value = r.fields[field];
  if (value === undefined) throw new BenchmarkError(file, `missing field "${field}"`, r.at);
  if (value === null) throw new BenchmarkError(file, `field "${field}" is null`, r.at);
  if (typeof value === 'number' && numberOk) return String(value);
  if (typeof value !== 'string') {
    const found = typeof value === 'object' ? 'an object' : `a ${typeof value}`;
    throw new BenchmarkError(file, `field "${field}" is ${found}, not a string`, r.at);
  }
  if (!value.trim()) throw new BenchmarkError(file, `field "${field}" is empty`, r.at);
  return value;
}

/** The reference answer of a solution, or a BenchmarkError saying why there is none. */
function goldOf(file: string, r: RawRecord, schema: Schema, kind: AnswerKind, solution: string): string {
  // MATH-500 states the answer in a column of its own; used when the solution has no box.
  const stated = typeof r.fields.answer === 'string' && schema === MATH ? r.fields.answer.trim() : undefined;
  if (kind === 'gsm8k') {
    // A bare number is a whole answer too (GSM-style sets without worked solutions).
    const gold = extractGsmAnswer(solution, { extraction: 'strict' }) ?? canonicalDecimal(solution) ?? canonicalDecimal(stated ?? '');
    if (gold) return gold;
    throw new BenchmarkError(file, `field "${schema.solution}" has no final answer "#### <number>"`, r.at);
  }
  const gold = extractBoxed(solution) || stated;
  if (gold) return gold;
  throw new BenchmarkError(file, `field "${schema.solution}" has no final answer \\boxed{...}`, r.at);
}

function toItem(file: string, r: RawRecord, schema: Schema, kind: AnswerKind): BenchmarkItem {
  const question = text(file, r, schema.question);
  const solution = text(file, r, schema.solution, schema === GSM);
  const item: BenchmarkItem = { id: r.id, question, solution, gold: goldOf(file, r, schema, kind, solution), kind };
  const level = r.fields.level;
  if (typeof level === 'string' && level.trim()) item.level = level;
  else if (typeof level === 'number' || typeof level === 'bigint') item.level = `Level ${level}`;
  const type = r.fields.type ?? r.fields.subject;
  if (typeof type === 'string' && type.trim()) item.type = type;
  return item;
}

async function readBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
    throw new BenchmarkError(file, `cannot be read: ${why}`);
  }
}

async function parquetItems(file: string, bytes: Buffer, kind?: AnswerKind, limit?: number): Promise<BenchmarkItem[]> {
  const table = openParquet(file, bytes);
  const schema = schemaFor(table.columns, kind);
  if (!schema) throw new BenchmarkError(file, noSchema(table.columns, 'columns'));
  if (table.rows === 0) throw new BenchmarkError(file, 'is empty: no rows');
  const wanted = [schema.question, schema.solution, ...OPTIONAL.filter((c) => table.columns.includes(c))];
  const records = await table.read([...new Set(wanted)], limit);
  return records.map((r) => toItem(file, r, schema, kind ?? schema.kind));
}

function jsonlItems(file: string, bytes: Buffer, kind?: AnswerKind, limit?: number): BenchmarkItem[] {
  const records = parseJsonl(file, bytes.toString('utf8'), limit);
  if (records.length === 0) throw new BenchmarkError(file, 'is empty: no benchmark items');
  const schema = schemaFor(Object.keys(records[0].fields), kind);
  if (!schema) throw new BenchmarkError(file, noSchema(Object.keys(records[0].fields), 'fields'), records[0].at);
  return records.map((r) => toItem(file, r, schema, kind ?? schema.kind));
}

/**
 * Loads a benchmark: JSONL, or parquet (by the `.parquet` extension or the file's magic
 * bytes). GSM8k fields (`question`, `answer`) or MATH fields (`problem`, `solution`, and
 * `level`, `type` when present) are recognised from the first record or the columns; `kind`
 * defaults to theirs (gsm8k or boxed). `limit` keeps the first items in file order.
 * Every problem with the file is a BenchmarkError naming the file (and line or row).
 */
export async function loadBenchmark(file: string, kind?: AnswerKind, opts: { limit?: number } = {}): Promise<BenchmarkItem[]> {
  const { limit } = opts;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new RangeError(`limit must be a whole number > 0, not ${limit}`);
  }
  const bytes = await readBytes(file);
  if (bytes.length === 0) throw new BenchmarkError(file, 'is empty: no benchmark items');
  return file.toLowerCase().endsWith('.parquet') || looksLikeParquet(bytes)
    ? parquetItems(file, bytes, kind, limit)
    : jsonlItems(file, bytes, kind, limit);
}
