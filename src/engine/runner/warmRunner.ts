// Warm runners: the runner's trusted supervisor kept alive between jobs (`apply_algorithm.py
// --serve`), so a job no longer pays a Python and numpy start-up for it. Only trusted code stays
// warm: the supervisor checks, validates and writes, and every algorithm still runs in a fresh
// sandboxed worker that the supervisor starts and that ends with its job, exactly as in the
// one-shot mode. A supervisor is reused only after it answered its job cleanly; one that timed
// out, was cancelled, or exited is never reused. Each job carries its own nonce, so a late line
// of an earlier job cannot pass for this one's result.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { abortError, failed, findRunnerScript, guardJob, parseChannel, resultFromRecord, resultWithoutRecord, RESULT_FD, runnerEnvironment, type ApplyOptions } from './applyAlgorithm';
import type { ApplyJob, RunnerResult } from './types';

const CHANNEL_CAP = 8 * 1024 * 1024;
const STDERR_CAP = 64 * 1024;
const DEFAULT_WALL_SECONDS = 300;

class WarmProcess {
  readonly child: ChildProcess;
  closed = false;
  exit = '';
  channel = '';
  stderr = '';
  /** Called on every channel chunk and at close. */
  onChange?: () => void;
  idleTimer?: NodeJS.Timeout;

  constructor(readonly key: string, python: string, script: string) {
    this.child = spawn(python, ['-s', '-B', script, '--serve'], {
      detached: true, // its own process group, killed as a whole
      stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
      env: runnerEnvironment(),
      windowsHide: true,
    });
    const channel = this.child.stdio[RESULT_FD] as Readable;
    channel.setEncoding('utf8');
    channel.on('data', (s: string) => {
      if (this.channel.length < CHANNEL_CAP) this.channel += s.slice(0, CHANNEL_CAP - this.channel.length);
      this.onChange?.();
    });
    channel.on('error', () => undefined);
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => {
      if (this.stderr.length < STDERR_CAP) this.stderr += s.slice(0, STDERR_CAP - this.stderr.length);
    });
    this.child.stdin!.on('error', () => undefined);
    this.child.on('error', (err: NodeJS.ErrnoException) => {
      this.exit = err.code === 'ENOENT' ? `Python interpreter "${python}" not found` : err.message;
    });
    this.child.on('close', (code, sig) => {
      this.closed = true;
      this.exit ||= sig ?? `code ${code}`;
      this.onChange?.();
    });
  }

  /** Signals the process group, only while the child runs (a reused PID is never signalled). */
  kill(sig: NodeJS.Signals): void {
    if (this.closed || this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch {
      this.child.kill(sig);
    }
  }

  /** An idle process must not keep its host alive. */
  hold(held: boolean): void {
    const handles = [this.child, this.child.stdin, this.child.stderr, this.child.stdio[RESULT_FD]] as unknown as ({ ref?(): void; unref?(): void } | null)[];
    for (const h of handles) (held ? h?.ref : h?.unref)?.call(h);
  }
}

export class WarmRunners {
  private readonly idle: WarmProcess[] = [];
  private disposed = false;
  /** Supervisors started so far (a reused one is not counted again). */
  started = 0;

  constructor(private readonly idleMs = 60_000) {}

  /** Applies one algorithm on a warm supervisor: the same contract as applyAlgorithm. */
  apply(job: ApplyJob, opts: ApplyOptions): Promise<RunnerResult> {
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal));
    const script = opts.runnerScript ?? findRunnerScript();
    const key = `${opts.python}\0${script}`;
    const wallSeconds = job.limits?.wallSeconds ?? DEFAULT_WALL_SECONDS;
    const outerMs = opts.outerTimeoutMs ?? wallSeconds * 1000 + 60_000;
    const grace = opts.killGraceMs ?? 2000;
    const started = Date.now();
    let p = this.take(key);
    if (!p) {
      p = new WarmProcess(key, opts.python, script);
      this.started++;
    }
    p.hold(true);
    p.channel = '';
    p.stderr = '';
    const nonce = randomBytes(16).toString('hex');

    const proc = p;
    return new Promise<RunnerResult>((resolve, reject) => {
      const p = proc;
      let settled = false;
      const guard = guardJob({ outerMs, grace, signal: opts.signal, kill: (sig) => p.kill(sig) });
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        guard.done();
        p.onChange = undefined;
        fn();
      };
      p.onChange = () => {
        const messages = parseChannel(p.channel, nonce);
        if (messages.result !== undefined && !guard.stopped) {
          finish(() => resolve(resultFromRecord(messages.result, p.stderr.trim())));
          this.release(p);
          return;
        }
        if (!p.closed) return;
        finish(() => {
          if (opts.signal?.aborted) return reject(abortError(opts.signal));
          if (guard.timedOut) return resolve(failed('timeout', `the runner did not finish within ${Math.round(outerMs / 1000)} s and was stopped`, { timings: { totalMs: Date.now() - started } }));
          if (messages.result !== undefined) return resolve(resultFromRecord(messages.result, p.stderr.trim()));
          resolve(resultWithoutRecord(messages, p.exit, p.stderr.trim()));
        });
      };
      p.child.stdin!.write(`${JSON.stringify({ ...job, resultChannel: { fd: RESULT_FD, nonce } })}\n`);
      // A process that died while idle (or never started) answers at once through its close.
      if (p.closed) p.onChange();
    });
  }

  private take(key: string): WarmProcess | undefined {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const p = this.idle[i];
      if (p.key !== key) continue;
      this.idle.splice(i, 1);
      clearTimeout(p.idleTimer);
      if (!p.closed) return p;
    }
    return undefined;
  }

  private release(p: WarmProcess): void {
    if (this.disposed || p.closed) {
      p.child.stdin!.end();
      return;
    }
    p.hold(false);
    // Idle too long: end of input, and it exits by itself.
    p.idleTimer = setTimeout(() => {
      const i = this.idle.indexOf(p);
      if (i >= 0) this.idle.splice(i, 1);
      p.child.stdin!.end();
    }, this.idleMs);
    p.idleTimer.unref();
    this.idle.push(p);
  }

  /** Ends every idle supervisor. */
  dispose(): void {
    this.disposed = true;
    for (const p of this.idle.splice(0)) {
      clearTimeout(p.idleTimer);
      p.child.stdin!.end();
    }
  }
}
