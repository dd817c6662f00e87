// Drives the sandboxed Python runner (resources/python/apply_algorithm.py) for one algorithm.
// The Python side does the isolation; this side adds an outer wall-clock limit, cancellation,
// bounded capture and a typed result. The child leads its own process group (detached), which is
// killed as a whole, and only while the child has not exited, so a reused PID is never signalled.
// The result comes on a pipe of its own (the child's fd 3), in lines that carry a nonce made
// here for this job: never from stdout, which other processes could write into.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { FAILURE_CLASSES, FAILURE_MESSAGES, type ApplyJob, type FailureClass, type RunnerResult } from './types';

export interface ApplyOptions {
  /** Python interpreter (path or name on PATH). */
  python: string;
  signal?: AbortSignal;
  /** resources/python/apply_algorithm.py; found next to the extension when omitted. */
  runnerScript?: string;
  /** Outer limit; default: the job's wall-clock limit plus 60 s for start-up, validation and writing. */
  outerTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL when stopping the runner (default 2000 ms). */
  killGraceMs?: number;
}

const STDOUT_CAP = 64 * 1024;
const CHANNEL_CAP = 8 * 1024 * 1024;
/** The child's descriptor for the result channel. */
export const RESULT_FD = 3;
const STDERR_CAP = 64 * 1024;
const DEFAULT_WALL_SECONDS = 300;
// Variables the runner (trusted) may see; the worker gets an even smaller, explicit set.
const PASS_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'SYSTEMROOT', 'PYENV_ROOT', 'PYENV_VERSION', 'VIRTUAL_ENV', 'CONDA_PREFIX', 'CUDA_VISIBLE_DEVICES', 'LD_LIBRARY_PATH', 'SELFDEV_BWRAP', 'SELFDEV_RUNNER_ZYGOTE'];

/** The runner script, looked up from this module's folder upwards (source tree, out/, bundle). */
export function findRunnerScript(start: string = __dirname): string {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'resources', 'python', 'apply_algorithm.py');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`resources/python/apply_algorithm.py not found above ${start}`);
}

export function runnerEnvironment(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PYTHONHASHSEED: '0', PYTHONNOUSERSITE: '1', PYTHONDONTWRITEBYTECODE: '1' };
  for (const key of PASS_ENV) if (source[key] !== undefined) env[key] = source[key];
  return env;
}

function isFailureClass(x: unknown): x is FailureClass {
  return typeof x === 'string' && (FAILURE_CLASSES as readonly string[]).includes(x);
}

export function failed(errorClass: FailureClass, detail: string, extra: Partial<RunnerResult> = {}): RunnerResult {
  return { status: 'failed', errorClass, message: FAILURE_MESSAGES[errorClass], detail, timings: {}, peakMemoryMB: 0, ...extra };
}

/** Validates a result record; anything malformed becomes a `setup` failure. */
export function resultFromRecord(raw: unknown, stderr = ''): RunnerResult {
  if (typeof raw !== 'object' || raw === null) return failed('setup', 'the runner result is not an object', { stderr });
  const r = raw as Record<string, unknown>;
  if (r.status !== 'ok' && r.status !== 'failed') return failed('setup', 'the runner result has no status', { stderr });
  if (r.status === 'failed' && !isFailureClass(r.errorClass)) return failed('setup', `unknown failure class ${String(r.errorClass)}`, { stderr });
  const result = r as unknown as RunnerResult;
  result.timings = typeof r.timings === 'object' && r.timings !== null ? (r.timings as Record<string, number>) : {};
  result.peakMemoryMB = typeof r.peakMemoryMB === 'number' ? r.peakMemoryMB : 0;
  if (stderr) result.stderr = stderr;
  return result;
}

export interface ChannelMessages {
  /** The worker finished its trusted set-up and was about to load the algorithm. */
  loaded: boolean;
  result?: unknown;
  /** Lines that did not carry this job's nonce (or were not JSON): ignored, counted. */
  rejected: number;
}

/** Reads the result channel: lines `SELFDEV <nonce> <json>`; only this job's nonce counts. */
export function parseChannel(text: string, nonce: string): ChannelMessages {
  const out: ChannelMessages = { loaded: false, rejected: 0 };
  const prefix = `SELFDEV ${nonce} `;
  for (const line of text.split('\n')) {
    if (!line) continue;
    if (!line.startsWith(prefix)) {
      out.rejected++;
      continue;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(line.slice(prefix.length));
    } catch {
      out.rejected++;
      continue;
    }
    const m = msg as { event?: unknown; result?: unknown };
    if (m?.event === 'loaded') out.loaded = true;
    else if (m?.event === 'result' && out.result === undefined) out.result = m.result;
    else out.rejected++;
  }
  return out;
}

/** The record for a runner that exited without sending one. */
export function resultWithoutRecord(channel: ChannelMessages, exit: string, stderr: string): RunnerResult {
  const tail = stderr.trim().split('\n').slice(-3).join(' | ');
  if (channel.loaded) {
    // Set-up had finished: only the algorithm ran after that, so this is its doing.
    return failed('exception', `the runner stopped (${exit}) after the algorithm was loaded, without a result${tail ? `: ${tail}` : ''}`, { stderr });
  }
  return failed('setup', `the runner exited (${exit}) without a result${tail ? `: ${tail}` : ''}`, { stderr });
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('the algorithm run was cancelled');
  err.name = 'AbortError';
  return err;
}

/**
 * A runner job's outer wall-clock limit and cancellation: when either fires, `kill` gets SIGTERM
 * (the runner kills its worker's group, then exits) and, after `grace`, SIGKILL. `done` clears
 * both once the job is settled.
 */
export function guardJob(o: { outerMs: number; grace: number; signal?: AbortSignal; kill: (sig: NodeJS.Signals) => void }): { readonly timedOut: boolean; readonly stopped: boolean; done(): void } {
  let timedOut = false;
  let stopped = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    stopped = true;
    o.kill('SIGTERM');
    killTimer = setTimeout(() => o.kill('SIGKILL'), o.grace);
  };
  const outer = setTimeout(() => {
    timedOut = true;
    stop();
  }, o.outerMs);
  o.signal?.addEventListener('abort', stop, { once: true });
  return {
    get timedOut() {
      return timedOut;
    },
    get stopped() {
      return stopped;
    },
    done() {
      clearTimeout(outer);
      if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener('abort', stop);
    },
  };
}

/** Applies one algorithm in the sandbox. Resolves with the result record (failures included);
 * rejects only when `signal` aborts (with an AbortError). */
export function applyAlgorithm(job: ApplyJob, opts: ApplyOptions): Promise<RunnerResult> {
  if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal));
  const script = opts.runnerScript ?? findRunnerScript();
  const wallSeconds = job.limits?.wallSeconds ?? DEFAULT_WALL_SECONDS;
  const outerMs = opts.outerTimeoutMs ?? wallSeconds * 1000 + 60_000;
  const grace = opts.killGraceMs ?? 2000;
  const started = Date.now();

  const nonce = randomBytes(16).toString('hex');
  return new Promise<RunnerResult>((resolve, reject) => {
    const child = spawn(opts.python, ['-s', '-B', script], {
      detached: true, // its own process group, killed as a whole
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: runnerEnvironment(),
      windowsHide: true,
    });
    const channelStream = child.stdio[RESULT_FD] as Readable | null;
    let exited = false;
    let settled = false;
    let stdout = '';
    let stderr = '';
    let channel = '';

    const killGroup = (sig: NodeJS.Signals) => {
      if (exited || child.pid === undefined) return; // never signal a PID that may have been reused
      try {
        process.kill(-child.pid, sig);
      } catch {
        try {
          child.kill(sig);
        } catch {
          /* already gone */
        }
      }
    };
    const guard = guardJob({ outerMs, grace, signal: opts.signal, kill: killGroup });
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      guard.done();
      fn();
    };

    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      if (stdout.length < STDOUT_CAP) stdout += s.slice(0, STDOUT_CAP - stdout.length);
    });
    channelStream?.setEncoding('utf8');
    channelStream?.on('data', (s: string) => {
      if (channel.length < CHANNEL_CAP) channel += s.slice(0, CHANNEL_CAP - channel.length);
    });
    channelStream?.on('error', () => undefined);
    child.stderr.on('data', (s: string) => {
      if (stderr.length < STDERR_CAP) stderr += s.slice(0, STDERR_CAP - stderr.length);
    });
    child.stdin.on('error', () => undefined); // a runner that died early closes its stdin
    child.on('error', (err: NodeJS.ErrnoException) => {
      exited = true;
      const why = err.code === 'ENOENT' ? `Python interpreter "${opts.python}" not found` : err.message;
      finish(() => resolve(failed('setup', why)));
    });
    child.on('exit', () => {
      exited = true;
    });
    child.on('close', (code, sig) => {
      exited = true;
      finish(() => {
        if (opts.signal?.aborted) return reject(abortError(opts.signal));
        if (guard.timedOut) {
          return resolve(failed('timeout', `the runner did not finish within ${Math.round(outerMs / 1000)} s and was stopped`, { timings: { totalMs: Date.now() - started } }));
        }
        const messages = parseChannel(channel, nonce);
        const result = messages.result !== undefined
          ? resultFromRecord(messages.result, stderr.trim())
          : resultWithoutRecord(messages, sig ?? `code ${code}`, stderr.trim() || stdout.trim());
        resolve(result);
      });
    });
    child.stdin.end(JSON.stringify({ ...job, resultChannel: { fd: RESULT_FD, nonce } }));
  });
}
