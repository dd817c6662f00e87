// Reads the evaluation part of a run config (*.selfdev.json, resources/demo/demo.run.json):
// the seed, benchmarks per split, and prompt/decoding settings. Paths are relative to the file.
// The loop issue owns the whole run config; this reads only what scoring needs.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { AnswerKind } from './eval';
import type { BenchmarkSpec, EvalSettings } from './evaluate';

export class ConfigError extends Error {
  constructor(file: string, field: string, problem: string) {
    super(`${file}: ${field}: ${problem}`);
    this.name = 'ConfigError';
  }
}

export type Split = 'dev' | 'test';

export interface EvalConfig {
  file: string;
  seed: string;
  benchmarks(split: Split): BenchmarkSpec[];
  settings: EvalSettings;
}

const ANSWER_KINDS: Record<string, AnswerKind> = { gsm8k: 'gsm8k', boxed: 'boxed', math: 'boxed' };

export async function readEvalConfig(file: string): Promise<EvalConfig> {
  const abs = path.resolve(file);
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(abs, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(abs, '(file)', code === 'ENOENT' ? 'not found' : `not valid JSON (${(err as Error).message})`);
  }
  const c = json as Record<string, unknown>;
  const here = (p: string) => path.resolve(path.dirname(abs), p);
  const str = (obj: Record<string, unknown>, key: string, where: string): string => {
    if (typeof obj[key] !== 'string' || !obj[key]) throw new ConfigError(abs, `${where}${key}`, 'expected a non-empty string');
    return obj[key] as string;
  };
  if (typeof c.benchmarks !== 'object' || c.benchmarks === null) throw new ConfigError(abs, 'benchmarks', 'expected an object of benchmarks');
  const benches = Object.entries(c.benchmarks as Record<string, Record<string, unknown>>).map(([name, b]) => {
    if (typeof b !== 'object' || b === null) throw new ConfigError(abs, `benchmarks.${name}`, 'expected an object');
    const answer = b.answer === undefined ? undefined : ANSWER_KINDS[String(b.answer)];
    if (b.answer !== undefined && !answer) throw new ConfigError(abs, `benchmarks.${name}.answer`, `expected one of ${Object.keys(ANSWER_KINDS).join(', ')}`);
    return {
      name,
      dev: here(str(b, 'dev', `benchmarks.${name}.`)),
      test: typeof b.test === 'string' ? here(b.test) : undefined,
      fewshot: typeof b.fewshot === 'string' ? here(b.fewshot) : undefined,
      kind: answer,
      limit: typeof b.devSize === 'number' ? b.devSize : undefined,
    };
  });
  const e = (c.eval ?? {}) as Record<string, unknown>;
  const num = (key: string, fallback: number): number => {
    const v = e[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(abs, `eval.${key}`, 'expected a whole number >= 0');
    return v;
  };
  const stop = e.stop ?? ['\n\n'];
  if (!Array.isArray(stop) || !stop.every((s) => typeof s === 'string')) throw new ConfigError(abs, 'eval.stop', 'expected a list of strings');
  if (e.decoding !== undefined && e.decoding !== 'greedy') throw new ConfigError(abs, 'eval.decoding', 'only "greedy" is supported');
  const settings: EvalSettings = {
    format: {
      prompt: typeof e.prompt === 'string' ? e.prompt : 'Question: {question}\nAnswer:',
      exemplar: typeof e.exemplar === 'string' ? e.exemplar : 'Question: {question}\nAnswer: {solution}\n\n',
      shots: num('shots', 0),
    },
    maxNewTokens: num('maxNewTokens', 256),
    stop: stop as string[],
    bos: e.bos !== false,
  };
  return {
    file: abs,
    seed: here(str(c, 'seed', '')),
    settings,
    benchmarks: (split) =>
      benches.map((b) => {
        const file = split === 'dev' ? b.dev : b.test;
        if (!file) throw new ConfigError(abs, `benchmarks.${b.name}.test`, 'no test split is configured');
        return { name: b.name, file, kind: b.kind, fewshot: b.fewshot, limit: split === 'dev' ? b.limit : undefined };
      }),
  };
}
