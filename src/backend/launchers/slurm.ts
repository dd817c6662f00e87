// The Slurm launcher: W workers as one job array (`sbatch --parsable --array=0-(W-1)`), never a
// task per candidate: allocations arrive about two every few seconds, so one-candidate tasks
// spend most of their time waiting (FACTS.md). Each task is a long-lived worker that claims work
// until there is none. Secrets reach the workers through sbatch's environment export, not the
// command line that squeue shows to every user.
import { execFile } from 'node:child_process';
import type { LauncherSpec } from '../../protocol/backend';
import { shellQuote } from '../shellQuote';
import type { LaunchedWorkers, WorkerLauncher, WorkerSpec, WorkerTask, WorkerTaskState } from './launcher';

/** The launcher spec's Slurm fields (one owner: the protocol's LauncherSpec), and where to run. */
export type SlurmOptions = Partial<Pick<LauncherSpec, 'partition' | 'cpusPerWorker' | 'memoryMB' | 'timeLimit' | 'sbatchOptions'>> &
  Pick<LauncherSpec, 'gpusPerWorker'> & {
    /** The environment the Slurm commands run in (SLURM_CONF for a test cluster). */
    env?: NodeJS.ProcessEnv;
  };


function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: 60_000, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} is not installed (is this a Slurm login node?)` : stderr.trim() || err.message;
        reject(new Error(`${cmd} ${args[0] ?? ''}: ${why}`));
      } else resolve(stdout);
    });
  });
}

/** sbatch's arguments for W workers (exported for tests and for the docs' example). */
export function sbatchArgs(o: SlurmOptions, workers: number, spec: WorkerSpec): string[] {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`the number of workers must be a whole number >= 1, got ${workers}`);
  return [
    '--parsable',
    `--array=0-${workers - 1}`,
    `--job-name=${spec.name}`,
    `--output=${spec.logDir}/worker-%A_%a.log`,
    '--export=ALL',
    ...(o.partition ? [`--partition=${o.partition}`] : []),
    ...(o.gpusPerWorker > 0 ? [`--gres=gpu:${o.gpusPerWorker}`] : []),
    `--cpus-per-task=${o.cpusPerWorker ?? 1}`,
    ...(o.memoryMB ? [`--mem=${o.memoryMB}M`] : []),
    ...(o.timeLimit ? [`--time=${o.timeLimit}`] : []),
    ...(o.sbatchOptions ?? []),
    `--wrap=exec ${spec.command.map(shellQuote).join(' ')}`,
  ];
}

const STATE: Record<string, WorkerTaskState> = { PENDING: 'pending', CONFIGURING: 'pending', REQUEUED: 'pending', RUNNING: 'running', COMPLETING: 'ending', SUSPENDED: 'running' };

/** squeue's lines "<job>_<task>|<state>|<node>|<reason>" of one array. */
export function parseSqueue(text: string, arrayId: string): WorkerTask[] {
  const tasks: WorkerTask[] = [];
  for (const line of text.split('\n')) {
    const [id, state, node, reason] = line.trim().split('|');
    const m = id && new RegExp(`^${arrayId}_(\\d+)$`).exec(id);
    if (!m) continue;
    tasks.push({ index: Number(m[1]), state: STATE[state] ?? 'ending', detail: state, node: node || undefined, reason: reason && reason !== 'None' ? reason : undefined });
  }
  return tasks;
}

/** Cancels an array by id (one a crashed backend left behind). */
export async function scancel(id: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!/^\d+$/.test(id)) throw new Error(`not a Slurm job id: ${id}`);
  await run('scancel', [id], env);
}

export class SlurmLauncher implements WorkerLauncher {
  readonly kind = 'slurm';

  constructor(private readonly o: SlurmOptions) {}

  async launch(workers: number, spec: WorkerSpec): Promise<LaunchedWorkers> {
    const env = { ...(this.o.env ?? process.env), ...spec.env };
    const out = await run('sbatch', sbatchArgs(this.o, workers, spec), env);
    const id = out.trim().split(';')[0];
    if (!/^\d+$/.test(id)) throw new Error(`sbatch answered "${out.trim()}" instead of a job id`);
    const cmdEnv = this.o.env ?? process.env;
    return {
      id,
      workers,
      tasks: async () => {
        // A job Slurm has forgotten (all its tasks ended a while ago) is "Invalid job id"; any
        // other failure (the controller not answering) is thrown: unknown is not ended.
        const text = await run('squeue', ['--noheader', '--array', `--jobs=${id}`, '--format=%i|%T|%N|%r'], cmdEnv).catch((err: Error) => {
          if (/invalid job id/i.test(err.message)) return '';
          throw err;
        });
        const listed = parseSqueue(text, id);
        const byIndex = new Map(listed.map((t) => [t.index, t]));
        // A task squeue no longer lists has ended (finished, failed, cancelled or preempted).
        return Array.from({ length: workers }, (_, index) => byIndex.get(index) ?? { index, state: 'ended' as const });
      },
      cancel: async (index) => {
        await run('scancel', [index === undefined ? id : `${id}_${index}`], cmdEnv);
      },
    };
  }
}
