// What a run writes, line by line (the run-on-disk contract of DESIGN.md).
import { createHash } from 'node:crypto';
import type { Completion, SamplingParams } from '../../protocol/backend';

export interface ScoredRecord {
  /** a0001 (generated), control-c0001, seed, baseline-ties-DENSITY=0.2,LAMBDA=0.6 ... */
  id: string;
  /** Path of the code inside the run (absent for the seed). */
  file?: string;
  iteration: number;
  status: 'ok' | 'failed';
  errorClass?: string;
  message?: string;
  detail?: string;
  /** Mean dev accuracy over the run's benchmarks. */
  score?: number;
  /** 95% stratified-bootstrap interval of the score. */
  interval?: [number, number];
  /** Accuracy per benchmark. */
  scores?: Record<string, number>;
  /** Per benchmark, "1"/"0" per dev item, for paired comparisons. */
  items?: Record<string, string>;
  codeHash?: string;
  /** When identical code was already scored, the record it reuses. */
  reusedFrom?: string;
  factoryVersion?: number;
  temperature?: number;
  summary?: string;
  timings?: Record<string, number>;
  /** Statistics of the merge's delta over the scope (the runner's): an export that applies the
   * algorithm again checks it made the same merge. */
  deltaStats?: Record<string, number | null>;
  /** How GSM8k answers were read for this score (eval.gsmAnswer). */
  gsmAnswer?: 'strict' | 'flexible';
  /** How the code was contained when it ran: 'kernel' isolation, or 'unisolated' (opted in). */
  isolation?: 'kernel' | 'unisolated';
  /** candidate: one candidate model scored as it is, a reference a merge should beat. */
  kind: 'generated' | 'seed' | 'baseline' | 'control' | 'candidate';
  /** The code differs from what the factory generated (a person edited it). */
  edited?: boolean;
  /** Set on a record that replaces an earlier one of the same id (edit or re-evaluation). */
  rescored?: { at: string; reason: 'edit' | 'reevaluate'; previousScore: number | null; previousStatus: 'ok' | 'failed' };
}

/**
 * The record in force for each id: results files are append-only, so an edit or re-evaluation
 * adds a later line for the same id and the earlier one stays as history. Order of first
 * appearance is kept.
 */
export function latestById<T extends { id: string }>(records: readonly T[]): T[] {
  const map = new Map<string, T>();
  for (const r of records) map.set(r.id, r);
  return [...map.values()];
}

/** One algorithm an iteration generated (samples.jsonl). */
export interface SampleRecord {
  id: string;
  summary: string;
  /** Hash of the normalised code as generated (an edit changes the file, not this). */
  codeHash: string;
  /** Grammar factory: the trace, its log-probability and canonical form. */
  trace?: unknown;
  logProb?: number;
  canonical?: string;
  /** LLM factory: the index of the completion it came from (completions.jsonl). */
  completion?: number;
  /** LLM factory: the completion held no code; the file holds the completion as comments. */
  noCode?: { detail: string };
}

/** One raw completion of the LLM factory (completions.jsonl), kept whatever became of it: the
 * backend's completion, with what the loop made of it. */
export interface CompletionRecord extends Omit<Completion, 'error'> {
  /** The algorithm it became (a0001 ...). */
  id: string;
  sampling: Omit<SamplingParams, 'seed'>;
  model: string;
  /** How the code was taken out of the text (extractCode.ts), without the code itself. */
  extraction: { ok: true; from: 'fenced' | 'bare'; blocks: number; chosen: number; truncated: boolean; definesMerge: boolean; normalised: boolean } | { ok: false; failure: 'no_code'; detail: string };
  /** The same code (normalised) was generated before: the algorithm reuses that result. */
  duplicateOf?: string;
}

export interface PairRecord {
  chosen: string;
  rejected: string;
  chosenScore: number;
  rejectedScore: number | null;
  why: string;
  /** A person vetoed this pair: it is kept for the record and left out of refinement. */
  vetoed?: boolean;
}

export class RunFileError extends Error {
  constructor(file: string, line: number, problem: string) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'RunFileError';
  }
}

/**
 * Parses a JSONL file of the run. A last line without its newline is what a crash mid-write
 * leaves: it is dropped (and reported through `onTruncated`). Any other bad line is an error
 * that names the file and line.
 */
export function parseJsonl<T>(text: string | undefined, file: string, onTruncated?: () => void): T[] {
  if (!text) return [];
  const lines = text.split('\n');
  const complete = text.endsWith('\n');
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const last = i === lines.length - 1;
    try {
      const value = JSON.parse(line) as T;
      if (typeof value !== 'object' || value === null) throw new Error('not an object');
      out.push(value);
    } catch (err) {
      if (last && !complete) {
        onTruncated?.();
        return;
      }
      throw new RunFileError(file, i + 1, `not a valid record (${(err as Error).message})`);
    }
  });
  return out;
}

/** Hash of code after normalising: identical algorithms share one result. */
export function codeHash(normalised: string): string {
  return createHash('sha256').update(normalised).digest('hex').slice(0, 16);
}


