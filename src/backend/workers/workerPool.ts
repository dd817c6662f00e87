// One run's worker pool: the queue of its score jobs, the leases of the jobs workers hold, and
// the workers' states. Workers claim jobs one at a time (dynamic claiming: a slow or lost worker
// holds only its own job). A worker's heartbeat keeps its leases; a worker silent for the lease
// time, or whose scheduler task ended, loses them and its jobs go back to the front of the queue.
// The first result of a job settles it; a later one (from a worker thought lost) is counted and
// dropped. No network here: the hub feeds it connections, the launcher feeds it task states.
import { randomBytes } from 'node:crypto';
import type { LauncherSpec, ProgressParams, ScoreParams, ScoreResult, WorkerInfo, WorkerPoolStatus, WorkerState } from '../../protocol/backend';
import type { ClaimResult } from '../../protocol/worker';
import type { LaunchedWorkers, WorkerTask } from '../launchers/launcher';

/** A worker connection as the pool sees it. */
export interface PoolWorker {
  /** "<launch>/<index>". */
  key: string;
  launch: string;
  index: number;
  host: string;
  pid: number;
  task?: string;
  lastSeen: number;
  connected: boolean;
  jobsDone: number;
  /** The lease it works on. */
  current?: string;
  /** Tells the worker to drop a job. */
  cancel(lease: string): void;
}

interface Job {
  params: ScoreParams;
  resolve(r: ScoreResult): void;
  reject(e: Error): void;
  progress(p: ProgressParams): void;
  settled: boolean;
  /** The lease in force and its holder; none while queued. */
  lease?: string;
  worker?: PoolWorker;
}

interface Launch {
  id: string;
  launched?: LaunchedWorkers;
  tasks: WorkerTask[];
  /** Whether squeue (or the like) answered at the last look. */
  known: boolean;
}

export class WorkerCancelledError extends Error {
  override name = 'Cancelled';
}

const RATE_WINDOW_MS = 10 * 60_000;

export class WorkerPool {
  readonly id = randomBytes(6).toString('hex');
  private readonly queue: Job[] = [];
  /** Every lease ever given, to its job (a late result of a lost lease still finds its job). */
  private readonly leases = new Map<string, Job>();
  private readonly workers = new Map<string, PoolWorker>();
  private readonly waiting: { worker: PoolWorker; answer: (c: ClaimResult) => void }[] = [];
  private readonly launches: Launch[] = [];
  private readonly finishedAt: number[] = [];
  private counts = { finished: 0, requeued: 0, duplicates: 0 };
  state: WorkerPoolStatus['state'] = 'starting';
  message?: string;

  constructor(
    readonly run: string,
    readonly spec: LauncherSpec,
    private readonly changed: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  get leaseMs(): number {
    return this.spec.leaseSeconds * 1000;
  }

  /** A new launch id (the workers' pool id in their environment). */
  newLaunch(): string {
    const id = `${this.id}-${this.launches.length}`;
    this.launches.push({ id, tasks: [], known: false });
    return id;
  }

  launched(id: string, unit: LaunchedWorkers): void {
    const l = this.launches.find((x) => x.id === id)!;
    l.launched = unit;
    l.tasks = Array.from({ length: unit.workers }, (_, index) => ({ index, state: 'pending' as const }));
    if (this.state === 'starting') this.state = 'open';
    this.changed();
  }

  get launchIds(): string[] {
    return this.launches.map((l) => l.id);
  }

  unit(id: string): LaunchedWorkers | undefined {
    return this.launches.find((l) => l.id === id)?.launched;
  }

  ownsLaunch(id: string): boolean {
    return this.launches.some((l) => l.id === id);
  }

  /** The work of one score job, done by whichever worker claims it first. */
  execute(params: ScoreParams, signal: AbortSignal, progress: (p: ProgressParams) => void): Promise<ScoreResult> {
    if (this.state === 'closed') return Promise.reject(new Error(`the workers of run ${this.run} were released${this.message ? ` (${this.message})` : ''}`));
    return new Promise<ScoreResult>((resolve, reject) => {
      const job: Job = { params, resolve, reject, progress, settled: false };
      const onAbort = () => {
        if (job.settled) return;
        this.settle(job);
        const i = this.queue.indexOf(job);
        if (i >= 0) this.queue.splice(i, 1);
        if (job.lease) job.worker?.cancel(job.lease);
        reject(new WorkerCancelledError(`job ${params.jobId} was cancelled`));
        this.changed();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.dispatch();
      this.changed();
    });
  }

  private settle(job: Job): void {
    job.settled = true;
    if (job.worker && job.lease && job.worker.current === job.lease) job.worker.current = undefined;
  }

  hello(w: PoolWorker, holding: { jobId: string; lease: string }[]): string[] {
    const old = this.workers.get(w.key);
    if (old) w.jobsDone = old.jobsDone;
    this.workers.set(w.key, w);
    const dropped: string[] = [];
    for (const h of holding) {
      const job = this.leases.get(h.lease);
      // Still this worker's lease: it keeps the job (its heartbeat is back in time).
      if (job && !job.settled && job.lease === h.lease) {
        job.worker = w;
        w.current = h.lease;
      } else dropped.push(h.jobId);
    }
    this.changed();
    return dropped;
  }

  seen(w: PoolWorker): void {
    w.lastSeen = this.now();
  }

  /** A worker asks for work: a job now, a wait, or done when the pool closes. */
  claim(w: PoolWorker): Promise<ClaimResult> {
    this.seen(w);
    if (this.state === 'closed') return Promise.resolve({ done: true });
    return new Promise((answer) => {
      this.waiting.push({ worker: w, answer });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length && this.waiting.length) {
      const waiter = this.waiting.shift()!;
      if (!waiter.worker.connected) continue;
      const job = this.queue.shift()!;
      const lease = randomBytes(9).toString('base64url');
      job.lease = lease;
      job.worker = waiter.worker;
      waiter.worker.current = lease;
      this.leases.set(lease, job);
      waiter.answer({ job: { lease, params: job.params } });
    }
    this.changed();
  }

  progress(w: PoolWorker, lease: string, p: ProgressParams): void {
    this.seen(w);
    const job = this.leases.get(lease);
    if (job && !job.settled && job.lease === lease) job.progress(p);
  }

  /** A worker's outcome for a lease: the first one settles the job, later ones are dropped. */
  result(w: PoolWorker, lease: string, outcome: { result?: ScoreResult; error?: { message: string; name?: string } }): boolean {
    this.seen(w);
    if (w.current === lease) w.current = undefined;
    const job = this.leases.get(lease);
    if (!job) return false;
    if (job.settled) {
      this.counts.duplicates++;
      this.changed();
      return false;
    }
    // Its lease may have run out and the job gone back to the queue or to another worker: this
    // result is as good, so the job ends here and the other holder is told to stop.
    this.settle(job);
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    if (job.lease !== lease && job.lease) job.worker?.cancel(job.lease);
    w.jobsDone++;
    this.counts.finished++;
    this.finishedAt.push(this.now());
    if (outcome.error) job.reject(Object.assign(new Error(outcome.error.message), outcome.error.name ? { name: outcome.error.name } : {}));
    else job.resolve(outcome.result!);
    this.changed();
    return true;
  }

  disconnected(w: PoolWorker): void {
    w.connected = false;
    for (let i = this.waiting.length - 1; i >= 0; i--) if (this.waiting[i].worker === w) this.waiting.splice(i, 1);
    this.changed();
  }

  /** Scheduler states of one launch (undefined: the scheduler did not answer). */
  tasksOf(launch: string, tasks: WorkerTask[] | undefined): void {
    const l = this.launches.find((x) => x.id === launch);
    if (!l) return;
    l.known = tasks !== undefined;
    if (tasks) l.tasks = tasks;
    this.changed();
  }

  /** Leases that ran out go back to the queue. Called every second or so. */
  expire(): void {
    const now = this.now();
    for (const job of new Set(this.leases.values())) {
      if (job.settled || !job.lease || !job.worker) continue;
      const w = job.worker;
      const ended = this.taskEnded(w);
      if (ended || now - w.lastSeen > this.leaseMs) {
        if (w.connected) w.cancel(job.lease);
        if (w.current === job.lease) w.current = undefined;
        job.lease = undefined;
        job.worker = undefined;
        this.queue.unshift(job);
        this.counts.requeued++;
      }
    }
    this.dispatch();
  }

  private taskEnded(w: PoolWorker): boolean {
    const l = this.launches.find((x) => x.id === w.launch);
    return !!l?.known && l.tasks.find((t) => t.index === w.index)?.state === 'ended';
  }

  /** Jobs are waiting or held, and no worker can take them: none connected, none starting. */
  get stranded(): boolean {
    if (this.state !== 'open' || (this.queue.length === 0 && ![...this.leases.values()].some((j) => !j.settled))) return false;
    if ([...this.workers.values()].some((w) => w.connected)) return false;
    return this.launches.every((l) => l.known && l.tasks.every((t) => t.state === 'ended'));
  }

  get unsettled(): number {
    return this.queue.length + new Set([...this.leases.values()].filter((j) => !j.settled)).size;
  }

  /** Ends the pool: waiting workers are told to stop, jobs not done fail with `why`. */
  close(why: string): LaunchedWorkers[] {
    if (this.state === 'closed') return [];
    this.state = 'closed';
    this.message = why;
    for (const w of this.waiting.splice(0)) w.answer({ done: true });
    const open = new Set([...this.queue, ...this.leases.values()].filter((j) => !j.settled));
    this.queue.length = 0;
    for (const job of open) {
      this.settle(job);
      if (job.lease) job.worker?.cancel(job.lease);
      job.reject(new Error(`the workers of run ${this.run} were released before job ${job.params.jobId} finished: ${why}`));
    }
    this.changed();
    return this.launches.flatMap((l) => (l.launched ? [l.launched] : []));
  }

  status(): WorkerPoolStatus {
    const now = this.now();
    const workers: WorkerInfo[] = [];
    for (const l of this.launches) {
      for (const t of l.tasks) {
        const w = this.workers.get(`${l.id}/${t.index}`);
        workers.push({
          index: t.index,
          state: workerState(t, w, this.state === 'closed', l.known),
          detail: t.detail,
          reason: t.reason,
          host: w?.host ?? t.node,
          pid: w?.pid,
          jobsDone: w?.jobsDone ?? 0,
          current: w?.current ? this.leases.get(w.current)?.params.jobId : undefined,
        });
      }
    }
    while (this.finishedAt.length && now - this.finishedAt[0] > RATE_WINDOW_MS) this.finishedAt.shift();
    const f = this.finishedAt;
    // A rate over a few seconds says little: shown from 10 s of results on.
    const span = f.length >= 2 && f[f.length - 1] - f[0] >= 10_000 ? f[f.length - 1] - f[0] : 0;
    return {
      run: this.run,
      launcher: this.spec.kind,
      ids: this.launches.flatMap((l) => (l.launched ? [l.launched.id] : [])),
      state: this.state,
      workers,
      queued: this.queue.length,
      running: new Set([...this.leases.values()].filter((j) => !j.settled && j.lease)).size,
      ...this.counts,
      ...(span > 0 ? { jobsPerHour: ((f.length - 1) / span) * 3_600_000 } : {}),
      ...(this.message ? { message: this.message } : {}),
    };
  }
}

function workerState(t: WorkerTask, w: PoolWorker | undefined, closed: boolean, known: boolean): WorkerState {
  if (closed) return 'ended';
  if (w?.connected) return 'running';
  // Workers leave only when the pool closes: one that ended or dropped its link before is lost.
  if ((known && t.state === 'ended') || w) return 'lost';
  return t.state === 'pending' ? 'pending' : 'starting';
}
