// `selfdev apply <algorithm.py> --config <run config>`: applies one algorithm in the sandboxed
// runner, then (when an evaluator is plugged in) scores the merged model. This is also how a
// user checks a hand-written algorithm.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pct } from '../core/format';
import { applyAlgorithm, type ApplyOptions } from '../engine/runner/applyAlgorithm';
import type { ApplyJob, RunnerResult, TensorLibrary } from '../engine/runner/types';

export interface ApplyIo {
  out(s: string): void;
  err(s: string): void;
}

/** What the evaluation seam receives: the merged scope's file and everything needed to overlay it. */
export interface EvaluateRequest {
  mergedFile: string;
  seedModel: string;
  configPath: string;
  config: Record<string, unknown>;
  /** `--benchmark` values; empty means the config's default benchmarks. */
  benchmarks: string[];
}

export interface EvaluateResult {
  /** Benchmark name to dev score (accuracy in [0, 1]). */
  scores: Record<string, number>;
  detail?: string;
}

export interface ApplyDeps {
  /** The engine's evaluation (src/engine/eval), wired in by src/cli/main.ts once it lands. */
  evaluate?: (req: EvaluateRequest) => Promise<EvaluateResult>;
  /** Replaces the runner (tests). */
  apply?: (job: ApplyJob, opts: ApplyOptions) => Promise<RunnerResult>;
}

export const APPLY_USAGE = `usage: selfdev apply <algorithm.py> --config <run config> [options]

options:
  --benchmark NAME       score on this benchmark (repeatable; default: the config's)
  --json                 print the result record as JSON
  --python PATH          Python interpreter (default: $SELFDEV_PYTHON or python3)
  --torch                give merge torch tensors (CUDA when available) instead of numpy arrays
  --seed N               random seed of the run (default 0)
  --set NAME=VALUE       replace a module constant first (repeatable), e.g. --set LAMBDA=0.4
  --scope REGEX          merge scope (default: the config's mergeScope, else the MLP weights)
  --scratch DIR          keep the merged file in this folder (default: a temporary folder, removed at the end)
  --allow-unisolated     run the algorithm even where kernel isolation (bubblewrap, seccomp) is not
                         available, with only Python-level guards (not recommended)
  --timeout SECONDS      wall-clock limit of the algorithm (default 300)
  --memory MB            memory the algorithm may allocate (default 4096)`;

const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

interface Parsed {
  algorithm: string;
  config: string;
  benchmarks: string[];
  json: boolean;
  python: string;
  torch: boolean;
  seed: number;
  constants: Record<string, number | string | boolean | null>;
  scope?: string;
  scratch?: string;
  timeout?: number;
  memory?: number;
  allowUnisolated: boolean;
}

class UsageError extends Error {}

function parseValue(text: string): number | string | boolean | null {
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || ['number', 'string', 'boolean'].includes(typeof v)) return v as number | string | boolean | null;
  } catch {
    /* a bare word is a string */
  }
  return text;
}

function positiveNumber(flag: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} needs a positive number`);
  return n;
}

export function parseApplyArgs(args: string[], env: NodeJS.ProcessEnv = process.env): Parsed {
  const positional: string[] = [];
  const p: Partial<Parsed> & { benchmarks: string[]; constants: Parsed['constants'] } = { benchmarks: [], constants: {} };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = () => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--config': p.config = next(); break;
      case '--benchmark': p.benchmarks.push(next()); break;
      case '--json': p.json = true; break;
      case '--python': p.python = next(); break;
      case '--torch': p.torch = true; break;
      case '--allow-unisolated': p.allowUnisolated = true; break;
      case '--seed': {
        const n = Number(next());
        if (!Number.isInteger(n)) throw new UsageError('--seed needs an integer');
        p.seed = n;
        break;
      }
      case '--set': {
        const kv = next();
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new UsageError(`--set needs NAME=VALUE, got "${kv}"`);
        p.constants[kv.slice(0, eq)] = parseValue(kv.slice(eq + 1));
        break;
      }
      case '--scope': p.scope = next(); break;
      case '--scratch': p.scratch = next(); break;
      case '--timeout': p.timeout = positiveNumber(a, args[++i]); break;
      case '--memory': p.memory = positiveNumber(a, args[++i]); break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
        positional.push(a);
    }
  }
  if (positional.length !== 1) throw new UsageError('give exactly one algorithm file');
  if (!p.config) throw new UsageError('--config is required');
  return {
    algorithm: positional[0],
    config: p.config,
    benchmarks: p.benchmarks,
    json: p.json ?? false,
    python: p.python ?? env.SELFDEV_PYTHON ?? 'python3',
    torch: p.torch ?? false,
    allowUnisolated: p.allowUnisolated ?? false,
    seed: p.seed ?? 0,
    constants: p.constants,
    scope: p.scope,
    scratch: p.scratch,
    timeout: p.timeout,
    memory: p.memory,
  };
}

/** Seed, candidates and scope from a run config (demo.run.json form: paths relative to the file;
 * `models: { seed, candidates }` is accepted too). */
export function modelsFromConfig(configPath: string, config: Record<string, unknown>): { seed: string; candidates: string[]; scope?: string; tensorLibrary?: TensorLibrary } {
  const models = (typeof config.models === 'object' && config.models !== null ? config.models : config) as Record<string, unknown>;
  const base = path.dirname(path.resolve(configPath));
  const seed = models.seed;
  const candidates = models.candidates;
  if (typeof seed !== 'string') throw new Error(`${configPath}: no "seed" model folder`);
  if (!Array.isArray(candidates) || candidates.length === 0 || !candidates.every((c) => typeof c === 'string')) {
    throw new Error(`${configPath}: "candidates" must be a non-empty list of model folders`);
  }
  const scope = typeof config.mergeScope === 'string' ? config.mergeScope : undefined;
  const lib = config.tensorLibrary === 'torch' || config.tensorLibrary === 'numpy' ? config.tensorLibrary : undefined;
  return { seed: path.resolve(base, seed), candidates: (candidates as string[]).map((c) => path.resolve(base, c)), scope, tensorLibrary: lib };
}

function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toFixed(digits + 1).replace(/\.?0+$/, '') : x.toExponential(digits - 1);
}

function ms(x: number | undefined): string {
  return x === undefined ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`;
}

export function formatResult(r: RunnerResult, algorithm: string, evaluation?: EvaluateResult | string, keepsMerged = true): string[] {
  const lines: string[] = [];
  if (r.status === 'ok') {
    lines.push('status: ok');
  } else {
    lines.push(`status: failed (${r.errorClass})`);
    if (r.message) lines.push(r.message);
    if (r.detail) lines.push(`detail: ${r.detail}`);
    if (r.traceback && r.traceback.trim() && !r.detail?.includes(r.traceback.trim())) lines.push('traceback (algorithm lines only):', ...r.traceback.split('\n').map((l) => `  ${l}`));
  }
  lines.push(`algorithm: ${algorithm}${r.algorithmSha256 ? ` (sha256 ${r.algorithmSha256.slice(0, 12)})` : ''}`);
  if (r.mergedFile) lines.push(`merged: ${keepsMerged ? r.mergedFile : 'removed at the end (--scratch DIR keeps it)'} (${r.parameters ?? '?'} parameters; ${fmt(r.taskVectorMB)} MB of task vectors)`);
  const d = r.deltaStats;
  if (d) {
    lines.push(`delta: mean|d| ${fmt(d.meanAbs)}, rms ${fmt(d.rms)}, max|d| ${fmt(d.maxAbs)}, zeros ${pct(d.zeroFraction)}, |d|/|seed| ${fmt(d.relativeNorm)}`);
  }
  const t = r.timings;
  if (t.totalMs !== undefined) {
    lines.push(`time: total ${ms(t.totalMs)} (worker ${ms(t.workerWallMs)}, merge calls ${ms(t.mergeMs)}, validate+write ${ms(t.validateWriteMs)}); peak memory ${fmt(r.peakMemoryMB)} MB`);
  }
  if (r.sandbox) {
    const s = r.sandbox;
    const mode = s.isolation === 'kernel'
      ? `kernel isolation (namespaces ${(s.namespaces ?? []).join(', ')}; uid ${s.uid ?? '?'}; seccomp; scratch ${s.scratchMB ?? '?'} MB)`
      : `UNISOLATED (Python-level guards only; network namespace ${s.networkNamespace ? 'yes' : 'no'})`;
    lines.push(`sandbox: ${mode}; ${s.tensorLibrary}${s.device ? ` on ${s.device}` : ''}`);
  }
  if (r.output && r.output.trim()) {
    const out = r.output.trim().split('\n');
    lines.push(`output (${out.length} lines${out.length > 10 ? ', first 10' : ''}):`, ...out.slice(0, 10).map((l) => `  ${l.slice(0, 200)}`));
  }
  if (typeof evaluation === 'string') lines.push(`score: ${evaluation}`);
  else if (evaluation) lines.push(...Object.entries(evaluation.scores).map(([b, s]) => `score ${b}: ${pct(s)}`));
  return lines;
}

export async function applyCommand(args: string[], io: ApplyIo, deps: ApplyDeps = {}): Promise<number> {
  let p: Parsed;
  try {
    p = parseApplyArgs(args);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`selfdev apply: ${e.message}\n\n${APPLY_USAGE}`);
      return EXIT.usage;
    }
    throw e;
  }
  let config: Record<string, unknown>;
  let models: ReturnType<typeof modelsFromConfig>;
  try {
    config = JSON.parse(readFileSync(p.config, 'utf8')) as Record<string, unknown>;
    models = modelsFromConfig(p.config, config);
    readFileSync(p.algorithm); // a clear error for a missing file
  } catch (e) {
    io.err(`selfdev apply: ${(e as Error).message}`);
    return EXIT.usage;
  }
  const scratch = path.resolve(p.scratch ?? mkdtempSync(path.join(os.tmpdir(), 'selfdev-apply-')));
  try {
    return await applyIn(scratch, p, config, models, io, deps);
  } finally {
    // A folder of our own goes, merged file included; one the user named keeps the merged file.
    if (!p.scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

async function applyIn(scratch: string, p: Parsed, config: Record<string, unknown>, models: ReturnType<typeof modelsFromConfig>, io: ApplyIo, deps: ApplyDeps): Promise<number> {
  const job: ApplyJob = {
    seedModel: models.seed,
    candidates: models.candidates,
    algorithmFile: path.resolve(p.algorithm),
    constants: Object.keys(p.constants).length ? p.constants : undefined,
    mergeScope: p.scope ?? models.scope,
    tensorLibrary: p.torch ? 'torch' : (models.tensorLibrary ?? 'numpy'),
    device: 'auto',
    scratch,
    randomSeed: p.seed,
    limits: { wallSeconds: p.timeout, cpuSeconds: p.timeout, memoryMB: p.memory },
    allowUnisolated: p.allowUnisolated,
  };
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  let result: RunnerResult;
  try {
    result = await (deps.apply ?? applyAlgorithm)(job, { python: p.python, signal: ac.signal });
  } catch (e) {
    io.err(`selfdev apply: ${(e as Error).message}`);
    return EXIT.failure;
  } finally {
    process.removeListener('SIGINT', onSignal);
  }

  let evaluation: EvaluateResult | string | undefined;
  if (result.status === 'ok' && result.mergedFile) {
    if (deps.evaluate) {
      try {
        evaluation = await deps.evaluate({ mergedFile: result.mergedFile, seedModel: models.seed, configPath: path.resolve(p.config), config, benchmarks: p.benchmarks });
      } catch (e) {
        evaluation = `evaluation failed: ${(e as Error).message}`;
      }
    } else {
      evaluation = 'not evaluated (the evaluation is not available in this version)';
    }
  }
  if (p.json) {
    io.out(JSON.stringify({ ...result, evaluation: evaluation ?? null }, null, 2));
  } else {
    for (const line of formatResult(result, p.algorithm, evaluation, Boolean(p.scratch))) io.out(line);
  }
  const evaluationFailed = typeof evaluation === 'string' && evaluation.startsWith('evaluation failed');
  return result.status === 'ok' && !evaluationFailed ? EXIT.ok : EXIT.failure;
}
