// The jobs a backend daemon owns (issue 16's first part): a job is submitted by id and runs
// whoever is connected; submitting a known id returns the same job; every job's events (progress,
// then its result or error) go into its run's ordered log, so a client that attaches with the
// offset it last saw gets what it missed, in order, then the live ones; a client that goes away
// only detaches; cancelling is by job id. The job list is kept on disk: after a restart,
// jobs that were running are marked interrupted, for their client to submit again (the journal
// answers those that had finished). A finished job's progress events are dropped from the log
// (its result says all), so a long run's log grows by one event per job.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { JobErrorData, JobEventParams, JobInfo, JobStatus } from '../protocol/backend';

export type { JobInfo, JobStatus } from '../protocol/backend';
export type JobEvent = Omit<JobEventParams, 'run'>;

export type JobListener = (e: JobEvent) => void;

/** The run a job belongs to: its id up to the first "/" (job ids are "<run>/<kind>/..."). */
export const runOfJob = (jobId: string): string => jobId.split('/')[0];

const STATE_FILE = 'jobs.json';

export class JobRegistry {
  private readonly jobs = new Map<string, JobInfo & { controller: AbortController; done: Promise<unknown> }>();
  private readonly logs = new Map<string, JobEvent[]>();
  private readonly listeners = new Map<string, Set<JobListener>>();
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string | undefined,
    /** Jobs found running when the registry was last stopped (now interrupted). */
    readonly interrupted: JobInfo[],
  ) {}

  /** Opens the registry kept in `dir` (none: in memory only); jobs left running there are interrupted. */
  static async open(dir?: string): Promise<JobRegistry> {
    let interrupted: JobInfo[] = [];
    if (dir) {
      try {
        const stored = JSON.parse(await fs.readFile(path.join(dir, STATE_FILE), 'utf8')) as JobInfo[];
        interrupted = stored.filter((j) => j.status === 'running').map((j) => ({ ...j, status: 'interrupted' as const }));
      } catch {
        /* no earlier state, or unreadable: nothing to recover */
      }
    }
    const registry = new JobRegistry(dir, interrupted);
    for (const j of interrupted) registry.jobs.set(j.jobId, { ...j, controller: new AbortController(), done: Promise.resolve() });
    await registry.persist();
    return registry;
  }

  info(jobId: string): JobInfo | undefined {
    const j = this.jobs.get(jobId);
    return j && { jobId: j.jobId, run: j.run, status: j.status };
  }

  /**
   * Starts `work` as job `jobId`, unless a job of that id is running here: then that job is
   * returned (submitting is idempotent). A job that ended is started again: its work answers from
   * the journal when it had finished (and checks that the answer still holds, as a refinement's
   * artifact must still exist), and it ends with a new event for whoever asks again.
   */
  submit<R>(jobId: string, work: (signal: AbortSignal, progress: (data: unknown) => void) => Promise<R>): { info: JobInfo; done: Promise<R> } {
    const known = this.jobs.get(jobId);
    if (known && known.status === 'running') return { info: this.info(jobId)!, done: known.done as Promise<R> };
    const run = runOfJob(jobId);
    const controller = new AbortController();
    const done = (async () => {
      try {
        const result = await work(controller.signal, (data) => this.record(run, { jobId, kind: 'progress', data }));
        this.settle(jobId, 'finished');
        this.record(run, { jobId, kind: 'result', data: result });
        return result;
      } catch (err) {
        this.settle(jobId, controller.signal.aborted ? 'cancelled' : 'failed');
        const data: JobErrorData = { message: (err as Error).message, cancelled: controller.signal.aborted, name: (err as Error).name };
        this.record(run, { jobId, kind: 'error', data });
        throw err;
      }
    })();
    // The outcome reaches attached clients as an event; nobody has to await it.
    done.catch(() => undefined);
    this.jobs.set(jobId, { jobId, run, status: 'running', controller, done });
    void this.persist();
    return { info: this.info(jobId)!, done };
  }

  /** Cancels a running job; false when there is none of that id. */
  cancel(jobId: string): boolean {
    const j = this.jobs.get(jobId);
    if (!j || j.status !== 'running') return false;
    j.controller.abort();
    return true;
  }

  /**
   * Attaches to a run's events from `offset`: the events from there are given to `listener` in
   * order, then live ones as they come. A listener that throws (a client gone mid-send) is
   * detached; the jobs go on.
   */
  attach(run: string, offset: number, listener: JobListener): { next: number; detach: () => void } {
    const log = this.logs.get(run) ?? [];
    const set = this.listeners.get(run) ?? new Set<JobListener>();
    this.listeners.set(run, set);
    const safe: JobListener = (e) => {
      try {
        listener(e);
      } catch {
        set.delete(safe);
      }
    };
    for (const e of log) if (e.offset >= offset) safe(e);
    set.add(safe);
    return { next: this.nextOffset(run), detach: () => set.delete(safe) };
  }

  /** Resolves when no job of those running now is still running. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.jobs.values()].filter((j) => j.status === 'running').map((j) => j.done));
  }

  /** Cancels every running job (the daemon is stopping). */
  cancelAll(): void {
    for (const j of this.jobs.values()) if (j.status === 'running') j.controller.abort();
  }

  /** How many jobs are in each state. */
  counts(): Record<JobStatus, number> {
    const c: Record<JobStatus, number> = { running: 0, finished: 0, failed: 0, cancelled: 0, interrupted: 0 };
    for (const j of this.jobs.values()) c[j.status]++;
    return c;
  }

  private nextOffset(run: string): number {
    const log = this.logs.get(run);
    return log && log.length ? log[log.length - 1].offset + 1 : 0;
  }

  /** Jobs of a run and their states, for a client that reattaches. */
  jobsOf(run: string): JobInfo[] {
    return [...this.jobs.values()].filter((j) => j.run === run).map((j) => this.info(j.jobId)!);
  }

  /** Whether any job is running (idle shutdown waits for none). */
  get busy(): boolean {
    return [...this.jobs.values()].some((j) => j.status === 'running');
  }

  /** Written state settles: for tests and for a clean shutdown. */
  flushed(): Promise<void> {
    return this.saving;
  }

  private record(run: string, e: Omit<JobEvent, 'offset'>): void {
    const event = { ...e, offset: this.nextOffset(run) };
    let log = this.logs.get(run) ?? [];
    // The job's progress is superseded by its outcome: keep offsets, drop the events.
    if (e.kind !== 'progress') log = log.filter((x) => x.jobId !== e.jobId || x.kind !== 'progress');
    log.push(event);
    this.logs.set(run, log);
    for (const l of [...(this.listeners.get(run) ?? [])]) l(event);
  }

  private settle(jobId: string, status: JobStatus): void {
    const j = this.jobs.get(jobId);
    if (j) j.status = status;
    void this.persist();
  }

  private persist(): Promise<void> {
    if (!this.dir) return Promise.resolve();
    const dir = this.dir;
    const snapshot = JSON.stringify([...this.jobs.values()].map((j) => ({ jobId: j.jobId, run: j.run, status: j.status })));
    // Written one after another, each whole (tmp + rename): the last state wins.
    this.saving = this.saving.catch(() => undefined).then(async () => {
      await fs.mkdir(dir, { recursive: true });
      const tmp = path.join(dir, `${STATE_FILE}.tmp-${process.pid}`);
      await fs.writeFile(tmp, snapshot);
      await fs.rename(tmp, path.join(dir, STATE_FILE));
    });
    return this.saving;
  }
}
