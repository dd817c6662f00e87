// Starting backend workers on a cluster: the one interface a scheduler implements (Slurm today;
// a Ray launcher would be another implementation of the same three calls). A launcher starts W
// long-lived workers as one unit, reports each worker task's state, and cancels one or all; what
// the workers do (connect back to the daemon and claim jobs) is not its business.

export interface WorkerSpec {
  /** The worker's command line (no secrets: command lines are visible to every user). */
  command: string[];
  /** Added to the workers' environment (secrets go here, never in `command`). */
  env: Record<string, string>;
  /** Shown in the scheduler's queue. */
  name: string;
  /** Where the scheduler writes each worker's output. */
  logDir: string;
}

export type WorkerTaskState = 'pending' | 'running' | 'ending' | 'ended';

export interface WorkerTask {
  index: number;
  state: WorkerTaskState;
  /** The scheduler's own word for it (PENDING, RUNNING, COMPLETING...). */
  detail?: string;
  node?: string;
  /** Why it waits (Resources, Priority...). */
  reason?: string;
}

export interface LaunchedWorkers {
  /** The scheduler's id of the unit (a Slurm job array id). */
  id: string;
  workers: number;
  tasks(): Promise<WorkerTask[]>;
  /** Cancels one worker task, or all of them (nothing is left queued). */
  cancel(index?: number): Promise<void>;
}

export interface WorkerLauncher {
  readonly kind: string;
  launch(workers: number, spec: WorkerSpec): Promise<LaunchedWorkers>;
}
