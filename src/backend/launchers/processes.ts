// The processes launcher: W workers as child processes of the backend on its own machine (one per
// GPU of a multi-GPU box: worker i sees GPUs i*G..i*G+G-1 through CUDA_VISIBLE_DEVICES). The same
// interface as Slurm's, so the pool cannot tell them apart; the tests use it to reach the pool's
// logic without a scheduler.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { WORKER_ENV } from '../../protocol/worker';
import type { LaunchedWorkers, WorkerLauncher, WorkerSpec, WorkerTask } from './launcher';

let launches = 0;

export class ProcessLauncher implements WorkerLauncher {
  readonly kind = 'processes';

  constructor(private readonly o: { gpusPerWorker: number; env?: NodeJS.ProcessEnv }) {}

  async launch(workers: number, spec: WorkerSpec): Promise<LaunchedWorkers> {
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`the number of workers must be a whole number >= 1, got ${workers}`);
    mkdirSync(spec.logDir, { recursive: true });
    const id = `${process.pid}-${++launches}`;
    const g = this.o.gpusPerWorker;
    const children: ChildProcess[] = [];
    for (let index = 0; index < workers; index++) {
      const out = openSync(path.join(spec.logDir, `worker-${id}_${index}.log`), 'a');
      const gpus = g > 0 ? { CUDA_VISIBLE_DEVICES: Array.from({ length: g }, (_, k) => index * g + k).join(',') } : {};
      const child = spawn(spec.command[0], spec.command.slice(1), {
        env: { ...(this.o.env ?? process.env), ...spec.env, ...gpus, [WORKER_ENV.index]: String(index) },
        stdio: ['ignore', out, out],
      });
      closeSync(out);
      child.on('error', () => undefined);
      children.push(child);
    }
    const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
    return {
      id,
      workers,
      tasks: async (): Promise<WorkerTask[]> => children.map((c, index) => ({ index, state: alive(c) ? 'running' : 'ended', detail: alive(c) ? 'RUNNING' : `exit ${c.exitCode ?? c.signalCode}`, node: 'localhost' })),
      cancel: async (index) => {
        for (const [i, c] of children.entries()) {
          if (index !== undefined && i !== index) continue;
          if (!alive(c)) continue;
          c.kill('SIGTERM');
          setTimeout(() => alive(c) && c.kill('SIGKILL'), 5000).unref();
        }
      },
    };
  }
}
