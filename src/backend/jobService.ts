// What a backend does with jobs, whatever serves it (a stdio child or the daemon): each kind of
// job run under the registry (by id, idempotent, its events in its run's log) and answered from
// the journal when it finished before.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExportModelResult, GenerateResult, JobInfo, WorkerPoolStatus, RefineResult, ScoreResult, SubmitParams } from '../protocol/backend';
import { runExportJob } from './exportModel';
import { runGenerateJob } from './generation';
import { JobRegistry, runOfJob } from './jobRegistry';
import { Journal } from './journal';
import { refinedModelFolder, runRefineJob } from './refinement';
import { runScoreJob } from './scoring';
import { WorkerHub } from './workers/workerHub';

export interface JobServiceOptions {
  /** Finished jobs by kind: scoring in this folder, the others in subfolders. */
  journalDir?: string;
  /** Refined generators (large files, outside git). */
  artifactsDir?: string;
  /** Where the job list is kept across restarts (the daemon's state folder). */
  stateDir?: string;
  /** The trainer's own output (stderr). */
  log?: (text: string) => void;
  /** Where scale-out keeps its certificate and the workers' logs (default: beside the journal). */
  workersDir?: string;
  /** Record open worker arrays, to cancel those a crash left (the daemon, one per state folder). */
  recordOpenWorkers?: boolean;
}

type Result = ScoreResult | GenerateResult | RefineResult | ExportModelResult;

export class JobService {
  private readonly journals?: Record<SubmitParams['kind'], Journal>;

  private constructor(
    readonly registry: JobRegistry,
    private readonly opts: JobServiceOptions,
  ) {
    const j = opts.journalDir;
    this.journals = j ? { score: new Journal(j), generate: new Journal(path.join(j, 'generate')), refine: new Journal(path.join(j, 'refine')), export: new Journal(path.join(j, 'export')) } : undefined;
  }

  static async open(opts: JobServiceOptions): Promise<JobService> {
    return new JobService(await JobRegistry.open(opts.stateDir), opts);
  }

  private hub?: WorkerHub;

  /** Scale-out, made with the first pool a client opens. */
  get workers(): WorkerHub {
    const dir = this.opts.workersDir ?? (this.opts.journalDir ? path.join(this.opts.journalDir, '..', '.workers') : path.join(os.tmpdir(), `selfdev-workers-${process.getuid?.() ?? 'user'}`));
    this.hub ??= new WorkerHub({ stateDir: dir, log: this.opts.log ?? (() => undefined), recordOpen: this.opts.recordOpenWorkers });
    return this.hub;
  }

  workerStatuses(): WorkerPoolStatus[] {
    return this.hub?.statuses() ?? [];
  }

  /** Releases every pool (the daemon stopping, the stdio backend ending). */
  async closeWorkers(why: string): Promise<void> {
    await this.hub?.closeAll(why);
  }

  get artifactsDir(): string | undefined {
    return this.opts.artifactsDir;
  }

  /** Starts a job (or returns the running one of that id). */
  submit(s: SubmitParams): { info: JobInfo; done: Promise<Result> } {
    const jobId = s.params.jobId;
    // Job ids are "<run>/..." (the run's event log is the part before the first "/").
    if (typeof jobId !== 'string' || !jobId) throw new Error(`a job needs an id, got ${JSON.stringify(jobId)}`);
    return this.registry.submit<Result>(jobId, (signal, progress) => this.run(s, signal, progress));
  }

  private run(s: SubmitParams, signal: AbortSignal, progress: (data: unknown) => void): Promise<Result> {
    const artifacts = this.opts.artifactsDir;
    switch (s.kind) {
      case 'score': {
        // A run with workers open hands its score jobs to them.
        const pool = this.hub?.poolFor(runOfJob(s.params.jobId));
        return this.journaled('score', s.params.jobId, () => (pool ? pool.execute(s.params, signal, progress) : runScoreJob(s.params, signal, progress)));
      }
      case 'generate':
        return this.journaled('generate', s.params.jobId, () => runGenerateJob(s.params, signal, progress, artifacts));
      case 'refine':
        // A journaled refinement counts only while its artifact is still there.
        return this.journaled(
          'refine',
          s.params.jobId,
          () => runRefineJob(s.params, artifacts, signal, progress, this.opts.log),
          (r) => refinedModelFolder(artifacts, (r as RefineResult).artifact).then(
            () => true,
            () => false,
          ),
        );
      case 'export':
        // A journaled export counts only while its folder is still there.
        return this.journaled(
          'export',
          s.params.jobId,
          () => runExportJob(s.params, signal, progress),
          (r) => {
            const folder = (r as ExportModelResult).folder;
            return folder ? fs.stat(path.join(folder, 'config.json')).then(() => true, () => false) : Promise.resolve(true);
          },
        );
      default:
        throw new Error(`unknown job kind ${JSON.stringify((s as { kind: unknown }).kind)}`);
    }
  }

  /** The journaled answer of a finished job (when `usable` agrees), else the job run now and journaled. */
  private async journaled<R extends Result>(kind: SubmitParams['kind'], jobId: string, work: () => Promise<R>, usable: (r: R) => Promise<boolean> = async () => true): Promise<R> {
    const stored = await this.journals?.[kind].get<R>(jobId);
    if (stored && (await usable(stored))) return { ...stored, fromJournal: true };
    // One line per job computed (not answered from the journal): the daemon's log shows that
    // nothing ran twice.
    this.opts.log?.(`job ${jobId} computing (${kind})\n`);
    const result = await work();
    await this.journals?.[kind].put(result);
    return result;
  }
}
