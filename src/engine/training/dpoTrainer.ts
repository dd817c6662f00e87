// Drives the DPO trainer (resources/python/selfdev_dpo.py: TRL's DPOTrainer with a PEFT LoRA
// adapter) as a child process: a spec file in, JSON-line events out, killed on cancellation.
// The trainer is the project's own code, not generated code, so it runs outside the sandbox, but
// with no secrets in its environment.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { DpoHyperparameters, DpoMetrics, PreferenceRow } from '../../protocol/backend';

export const TRAINER_SCRIPT = 'selfdev_dpo.py';

/** A file of resources/python, looked up from this module's folder upwards (source tree, out/, bundle). */
export function findPythonResource(name: string, start: string = __dirname): string {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'resources', 'python', name);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`resources/python/${name} not found above ${start}`);
}

/**
 * The Python that trains: the caller's, else $SELFDEV_TRAIN_PYTHON, else the installation's
 * .venv-llm (scripts/setup.sh makes it with TRL and PEFT), else python3.
 */
export function trainerPython(explicit: string | undefined, script: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (env.SELFDEV_TRAIN_PYTHON) return env.SELFDEV_TRAIN_PYTHON;
  const root = path.dirname(path.dirname(path.dirname(script)));
  const venv = process.platform === 'win32' ? path.join(root, '.venv-llm', 'Scripts', 'python.exe') : path.join(root, '.venv-llm', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

export type TrainerEvent =
  | { event: 'loaded'; pairs: number; heldOut: number; steps: number; resumedFrom: number | null }
  | { event: 'evaluated'; when: 'before' | 'after'; meanMargin: number | null }
  | { event: 'step'; step: number; steps: number; epoch: number; loss: number; rewardAccuracy?: number; rewardMargin?: number; learningRate?: number }
  | { event: 'saved'; what: string }
  | { event: 'done'; seconds: number }
  | { event: 'error'; errorClass: string; message: string }
  | { event: 'restarted'; reason: string };

export interface TrainerSpec {
  base: string;
  train: PreferenceRow[];
  heldOut: PreferenceRow[];
  hyperparameters: DpoHyperparameters;
  device: 'auto' | 'cpu' | 'cuda';
  threads?: number;
}

export class TrainerError extends Error {
  override name = 'TrainerError';
  constructor(
    message: string,
    readonly errorClass: string,
  ) {
    super(message);
  }
}

// Names of variables that may hold secrets: the trainer needs none of them.
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i;

export function trainerEnvironment(source: NodeJS.ProcessEnv = process.env, threads?: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(source)) if (!SECRET_NAME.test(k) && !k.startsWith('SELFDEV_LLM')) env[k] = v;
  // No hub: the base model is a local folder, and nothing is uploaded.
  Object.assign(env, { HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' });
  if (threads) env.OMP_NUM_THREADS = String(threads);
  return env;
}

const jsonl = (rows: PreferenceRow[]) => rows.map((r) => JSON.stringify({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected })).join('\n') + (rows.length ? '\n' : '');

/**
 * Trains in `staging` (adapter/, merged/, metrics.json, checkpoints/; a folder left by a killed
 * run of the same spec is resumed from its last checkpoint) and returns the metrics. Rejects
 * with a TrainerError that says why when the trainer fails or is cancelled.
 */
export async function runDpoTrainer(
  spec: TrainerSpec,
  staging: string,
  opts: { python?: string; signal?: AbortSignal; onEvent?: (e: TrainerEvent) => void; onStderr?: (text: string) => void; script?: string } = {},
): Promise<DpoMetrics> {
  const script = opts.script ?? findPythonResource(TRAINER_SCRIPT);
  const python = trainerPython(opts.python, script);
  await fs.mkdir(staging, { recursive: true });
  // An earlier run's metrics must not pass for this one's.
  await fs.rm(path.join(staging, 'metrics.json'), { force: true });
  const files = { train: path.join(staging, 'train.jsonl'), heldOut: path.join(staging, 'heldout.jsonl'), spec: path.join(staging, 'spec.json') };
  await fs.writeFile(files.train, jsonl(spec.train));
  await fs.writeFile(files.heldOut, jsonl(spec.heldOut));
  await fs.writeFile(
    files.spec,
    JSON.stringify({ base: spec.base, train: files.train, heldOut: files.heldOut, output: staging, hyperparameters: spec.hyperparameters, device: spec.device, threads: spec.threads ?? null }, null, 1),
  );
  if (opts.signal?.aborted) throw new TrainerError('refinement cancelled', 'cancelled');

  const child = spawn(python, [script, files.spec], { env: trainerEnvironment(process.env, spec.threads), stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
  let stderr = '';
  let error: { errorClass: string; message: string } | undefined;
  let pending = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (!line) continue;
      let e: TrainerEvent;
      try {
        e = JSON.parse(line) as TrainerEvent;
      } catch {
        stderr = (stderr + line + '\n').slice(-8000);
        continue;
      }
      if (e.event === 'error') error = { errorClass: e.errorClass, message: e.message };
      opts.onEvent?.(e);
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    stderr = (stderr + text).slice(-8000);
    opts.onStderr?.(text);
  });
  // Cancellation kills the trainer's whole process group (data loader workers included).
  let killTimer: NodeJS.Timeout | undefined;
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (child.pid && process.platform !== 'win32') process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      /* already gone */
    }
  };
  const onAbort = () => {
    kill('SIGTERM');
    killTimer = setTimeout(() => kill('SIGKILL'), 5000);
  };
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', (err) => reject(new TrainerError(`the DPO trainer could not start with ${python}: ${err.message} (set the training Python, or run scripts/setup.sh to make .venv-llm)`, 'no_python')));
      child.once('close', (c, s) => resolve({ code: c, signal: s }));
    });
    if (opts.signal?.aborted) throw new TrainerError('refinement cancelled', 'cancelled');
    if (code !== 0) {
      if (error) throw new TrainerError(`the DPO trainer failed (${error.errorClass}): ${error.message}`, error.errorClass);
      const said = stderr.trim().split('\n').slice(-6).join('\n');
      if (/ModuleNotFoundError: No module named '(trl|peft|datasets|transformers|torch)'/.test(stderr)) {
        throw new TrainerError(`${python} lacks the training stack (${/No module named '([^']+)'/.exec(stderr)![1]}): run scripts/setup.sh (it makes .venv-llm) or pip install -r resources/python/requirements-llm.txt, or set the training Python`, 'no_python');
      }
      throw new TrainerError(`the DPO trainer stopped (${signal ? `signal ${signal}` : `exit code ${code}`})${said ? `: ${said}` : ''}`, 'trainer_failed');
    }
    const metrics = JSON.parse(await fs.readFile(path.join(staging, 'metrics.json'), 'utf8')) as DpoMetrics;
    return metrics;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
}
