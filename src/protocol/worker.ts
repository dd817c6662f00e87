// The worker protocol: JSON-RPC 2.0 (vscode-jsonrpc) over an authenticated WebSocket between a
// backend (the daemon of a login node, or a local backend) and the workers it started through a
// launcher (a Slurm job array). A worker says hello, then claims score jobs one at a time; each
// claim carries a lease that the worker's heartbeat keeps alive. A worker that goes silent loses
// its leases and its jobs go back to the queue; a result that arrives twice is recorded once.
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type { ProgressParams, ScoreParams, ScoreResult } from './backend';

export const WORKER_PROTOCOL_VERSION = 1;

/** The environment a launcher gives each worker (secrets only here, never on a command line). */
export const WORKER_ENV = {
  url: 'SELFDEV_WORKER_URL',
  token: 'SELFDEV_WORKER_TOKEN',
  /** PEM of the backend's self-signed certificate, pinned by the worker. */
  certificate: 'SELFDEV_WORKER_CERT',
  pool: 'SELFDEV_WORKER_POOL',
  /** The worker's index where the scheduler gives none (Slurm's is SLURM_ARRAY_TASK_ID). */
  index: 'SELFDEV_WORKER_INDEX',
} as const;

export interface HelloParams {
  protocolVersion: number;
  pool: string;
  index: number;
  host: string;
  pid: number;
  /** The scheduler's id of this worker's task ("1234_2"). */
  task?: string;
  gpus: string[];
  /** Jobs this worker still holds after a dropped link (their leases are renewed if still valid). */
  holding: { jobId: string; lease: string }[];
}

export interface HelloResult {
  /** A silent worker's leases expire after this long. */
  leaseSeconds: number;
  /** How often the worker pings. */
  heartbeatSeconds: number;
  /** Of `holding`, the jobs that are no longer this worker's (finished elsewhere, or cancelled). */
  dropped: string[];
}

export type ClaimResult = { job: { lease: string; params: ScoreParams } } | { done: true };

export interface WorkerProgressParams {
  lease: string;
  progress: ProgressParams;
}

export interface WorkerResultParams {
  lease: string;
  /** The job's result, or the error it ended in (a setup problem of the worker's machine). */
  result?: ScoreResult;
  error?: { message: string; name?: string };
}

export const HelloRequest = new RequestType<HelloParams, HelloResult, void>('worker/hello');
/** Answered when there is a job for this worker, or `done` when the pool is closing. */
export const ClaimRequest = new RequestType0<ClaimResult, void>('worker/claim');
export const WorkerProgressNotification = new NotificationType<WorkerProgressParams>('worker/progress');
/** `recorded`: false when the job's outcome was already in (another worker's result, or cancelled). */
export const ResultRequest = new RequestType<WorkerResultParams, { recorded: boolean }, void>('worker/result');
export const WorkerPingRequest = new RequestType0<{ time: number }, void>('worker/ping');
/** From the backend: stop working on this job (cancelled, or finished by another worker). */
export const WorkerCancelNotification = new NotificationType<{ lease: string }>('worker/cancel');
