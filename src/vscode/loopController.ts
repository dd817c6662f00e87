// Drives the loop from VS Code: the orchestrator runs here (it is light: files, git, pairs,
// DPO of the grammar factory on a small table), the heavy work (scoring, the LLM factory's
// generation and DPO) in the backend child process. One loop at a time, with
// a cancellable progress notification and optional pause points; edits, vetoes and
// re-evaluations go through here too, so they never race the loop on the same run.
import * as vscode from 'vscode';
import { describeTarget, openBackend, type OpenedBackend } from '../app/backends';
import { createRun, openLoop, STORED_KEY_ENV, type Installation, type OpenOptions } from '../app/runs';
import type { FactoryConfig } from '../core/config/runConfig';
import { describeRefining, describeWorker, describeWorkers } from '../core/format';
import { parseLauncher } from '../core/config/runConfig';
import { LoopCancelled, type LoopEvent, type PausePoint, type PauseRequest, type RunLoop } from '../core/loop/runLoop';
import { RunStore, type Run } from '../core/store/runStore';
import type { InitializeResult } from '../protocol/backend';
import { commandFraction, PhaseClock } from '../core/loop/progress';
import { describeLive, type LiveStatus } from '../protocol/webviewMessages';
import { backendTarget } from './backendTarget';
import { resolveInterpreter } from './pythonInterpreter';
import { runsLocation, settings } from './settings';

/** Secret-storage key of the LLM endpoint's API key. */
export const LLM_KEY_SECRET = 'selfdev.llm.apiKey';

export interface LoopState {
  runId: string;
  title: string;
  status: LiveStatus;
  paused?: PauseRequest;
}

/** Where jobs run and how the link is: for the backend's status bar item. */
export interface BackendStatus {
  /** "local", "ssh gpu1", "wss://gpu1:8765". */
  label: string;
  state: 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'lost';
  detail?: string;
  info?: InitializeResult;
}

interface Running {
  runId: string;
  title: string;
  controller: AbortController;
  backend?: OpenedBackend;
  status: LiveStatus;
  paused?: { request: PauseRequest; resume: () => void };
  /** Work for this run that waits until the loop stops (edits saved while it scores). */
  queued: Map<string, () => Promise<void>>;
  /** The iterations the command runs (for the progress bar), the first it ran, the bar so far. */
  planned?: number;
  first?: number;
  reported: number;
  clock: PhaseClock;
}

export class LoopController implements vscode.Disposable {
  private running: Running | undefined;
  private readonly stateChanged = new vscode.EventEmitter<LoopState | undefined>();
  private readonly runChanged = new vscode.EventEmitter<string>();
  /** The loop's state: running, phase, progress, paused. undefined when idle. */
  readonly onDidChangeState = this.stateChanged.event;
  /** A run's files changed (a commit): views re-read it. */
  readonly onDidChangeRun = this.runChanged.event;
  private readonly backendChanged = new vscode.EventEmitter<BackendStatus>();
  readonly onDidChangeBackend = this.backendChanged.event;
  backendStatus: BackendStatus = { label: 'local', state: 'idle' };
  lastRunId: string | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get busy(): string | undefined {
    return this.running?.runId;
  }

  get state(): LoopState | undefined {
    const r = this.running;
    return r && { runId: r.runId, title: r.title, status: r.status, paused: r.paused?.request };
  }

  get installation(): Installation {
    return { root: this.context.extensionUri.fsPath, version: (this.context.extension.packageJSON as { version: string }).version };
  }

  async store(): Promise<RunStore> {
    return RunStore.open(runsLocation(this.context), vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
  }

  async createRun(configFile: string, factory?: 'grammar' | 'llm' | FactoryConfig): Promise<Run> {
    const { run } = await createRun(await this.store(), configFile, {
      version: this.installation.version,
      shownAs: vscode.workspace.asRelativePath(configFile),
      factory,
      backend: describeTarget(await backendTarget(this.context)),
    });
    const id = run.id;
    this.log.info(`created run ${id} (branch ${run.branch}, worktree ${run.dir})`);
    this.lastRunId = id;
    this.runChanged.fire(id);
    return run;
  }

  async openRun(id: string): Promise<Run> {
    return (await this.store()).open(id);
  }

  private setBackendStatus(s: BackendStatus): void {
    this.backendStatus = s;
    this.backendChanged.fire(s);
  }

  /** Starts the local backend or connects to the remote one the settings name (deploying it over
   * ssh first), reporting its steps on `progress` and its link's state in the status bar. */
  private async startBackend(progress?: vscode.Progress<{ message?: string }>): Promise<OpenedBackend> {
    const target = await backendTarget(this.context);
    const label = describeTarget(target).target ?? 'local';
    const remote = target.kind !== 'local';
    if (remote) this.setBackendStatus({ label, state: 'connecting' });
    // The LLM endpoint's key goes from secret storage to the local backend's environment only.
    const key = await this.context.secrets.get(LLM_KEY_SECRET);
    try {
      const opened = await openBackend(this.installation, runsLocation(this.context), target, {
        onStderr: (t) => this.log.debug(`backend: ${t.trimEnd()}`),
        secrets: key ? { [STORED_KEY_ENV]: key } : {},
        onProgress: (message) => progress?.report({ message }),
        onState: (state, detail) => {
          this.log.info(`backend ${label}: ${state}: ${detail}`);
          this.setBackendStatus({ label, state, detail, info: this.backendStatus.info });
        },
      });
      for (const p of opened.deploy?.problems ?? []) this.log.warn(`backend ${opened.label}: ${p}`);
      this.setBackendStatus({ label, state: remote ? 'connected' : 'idle', detail: remote ? `backend ${opened.backend.info.backendVersion}` : undefined, info: opened.backend.info });
      return opened;
    } catch (err) {
      if (remote) this.setBackendStatus({ label, state: 'lost', detail: (err as Error).message });
      throw err;
    }
  }

  private async closeBackend(opened: OpenedBackend): Promise<void> {
    await opened.backend.dispose();
    if (this.backendStatus.state !== 'lost') this.setBackendStatus({ ...this.backendStatus, state: 'idle', detail: 'not connected (no job running)' });
  }

  /** How the run's loop is opened from VS Code: the settings, progress and pause points. */
  private async options(run: Run, signal: AbortSignal, progress?: vscode.Progress<{ message?: string }>, backend?: OpenedBackend): Promise<OpenOptions> {
    const runId = run.id;
    const pauseAt: PausePoint[] = [];
    if (settings.pauseAfterGeneration()) pauseAt.push('afterGeneration');
    if (settings.pauseBeforeRefinement()) pauseAt.push('beforeRefinement');
    return {
      // A remote backend runs generated code with the host's Python, not this machine's.
      python: backend?.python ?? (await resolveInterpreter()),
      trainPython: settings.trainingPython() || undefined,
      allowUnisolated: settings.allowUnisolated(),
      executionProvider: settings.executionProvider(),
      threads: settings.threads(),
      launcher: launcherSetting(),
      signal,
      onEvent: (e) => this.report(runId, e, progress),
      log: (line) => this.log.warn(line),
      pauseAt,
      onPause: (p) => this.waitAtPause(p),
    };
  }

  /** Refuses, before anything is created or changed, while a loop runs (one loop at a time). */
  ensureIdle(): void {
    if (this.running) throw new Error(`run ${this.running.runId} is in progress; stop it first (Self-Developing: Stop the Running Iteration)`);
  }

  /**
   * Runs `fn` on the run's loop with a backend, a progress notification and cancellation.
   * Returns undefined when the user stopped it (the run continues from there next time).
   */
  async withLoop<T>(run: Run, title: string, fn: (loop: RunLoop) => Promise<T>, plan?: { iterations: number }): Promise<T | undefined> {
    this.ensureIdle();
    const controller = new AbortController();
    const running: Running = {
      runId: run.id,
      title,
      controller,
      status: { runId: run.id, iteration: 0, phase: 'starting' },
      queued: new Map(),
      planned: plan?.iterations,
      reported: 0,
      clock: new PhaseClock(),
    };
    this.running = running;
    this.lastRunId = run.id;
    this.fireState();
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Self-Developing: ${title}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          const opened = await this.startBackend(progress);
          running.backend = opened;
          try {
            const loop = await openLoop(run, this.installation, opened.backend, await this.options(run, controller.signal, progress, opened));
            return await fn(loop);
          } finally {
            running.backend = undefined;
            await this.closeBackend(opened);
          }
        },
      );
    } catch (err) {
      if (!(err instanceof LoopCancelled) && !controller.signal.aborted) throw err;
      void vscode.window.showInformationMessage(`Self-Developing: stopped run ${run.id}; Run Next Iteration continues it where it stopped.`);
      return undefined;
    } finally {
      this.running = undefined;
      this.fireState();
      this.runChanged.fire(run.id);
      await this.drain(running);
    }
  }

  /**
   * Runs a short operation on a run (edit, veto, re-evaluation) with the loop's objects. While
   * that run's loop is paused it uses the paused loop's backend; while it is working, `queueKey`
   * work waits until it stops (and the returned promise says so with undefined).
   */
  async withRun<T>(runId: string, title: string, fn: (loop: RunLoop) => Promise<T>, opts: { needsBackend: boolean; queueKey?: string }): Promise<T | undefined> {
    const r = this.running;
    if (r && r.runId === runId && !r.paused && opts.needsBackend) {
      if (!opts.queueKey) throw new Error(`run ${runId} is in progress; wait for it or stop it first`);
      r.queued.set(opts.queueKey, async () => void (await this.withRun(runId, title, fn, { needsBackend: true })));
      void vscode.window.showInformationMessage(`Self-Developing: ${title}: run ${runId} is busy; this happens when the running iteration stops or pauses.`);
      return undefined;
    }
    const run = await this.openRun(runId);
    const controller = new AbortController();
    const body = async (progress?: vscode.Progress<{ message?: string }>) => {
      const shared = r?.runId === runId ? r.backend : undefined;
      const opened = opts.needsBackend ? (shared ?? (await this.startBackend(progress))) : undefined;
      try {
        const options = opened ? await this.options(run, controller.signal, progress, opened) : { onEvent: (e: LoopEvent) => this.report(runId, e) };
        // A short operation never pauses, and leaves repairs to the run's own loop when it has one.
        const ownLoop = this.running?.runId === runId;
        return await fn(await openLoop(run, this.installation, opened?.backend, { ...options, pauseAt: [], repairFiles: !ownLoop }));
      } finally {
        if (opened && opened !== shared) await this.closeBackend(opened);
      }
    };
    try {
      if (!opts.needsBackend) return await body();
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Self-Developing: ${title}`, cancellable: true }, (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        return body(progress);
      });
    } catch (err) {
      if (err instanceof LoopCancelled || controller.signal.aborted) return undefined;
      throw err;
    } finally {
      this.runChanged.fire(runId);
    }
  }

  private async drain(running: Running): Promise<void> {
    for (const [key, job] of running.queued) {
      running.queued.delete(key);
      await job().catch((err: Error) => {
        this.log.error(`${key}: ${err.message}`);
        void vscode.window.showErrorMessage(`Self-Developing: ${err.message}`);
      });
    }
  }

  stop(): boolean {
    const r = this.running;
    if (!r) return false;
    r.controller.abort();
    r.paused?.resume();
    return true;
  }

  /** Continues a paused loop; false when none is paused. */
  continue(): boolean {
    const p = this.running?.paused;
    if (!p) return false;
    p.resume();
    return true;
  }

  private waitAtPause(request: PauseRequest): Promise<void> {
    const r = this.running;
    if (!r) return Promise.resolve();
    return new Promise<void>((resolve) => {
      r.paused = {
        request,
        resume: () => {
          r.paused = undefined;
          this.fireState();
          resolve();
        },
      };
      this.fireState();
      // Work queued while the loop ran (saved edits) can run now that it waits.
      void this.drain(r);
      void vscode.window
        .showInformationMessage(`Self-Developing: ${r.runId}, iteration ${request.iteration} is paused: ${request.detail}.`, 'Continue', 'Open Results', 'Stop')
        .then((choice) => {
          if (choice === 'Continue') this.continue();
          else if (choice === 'Stop') this.stop();
          else if (choice === 'Open Results') void vscode.commands.executeCommand('selfdev.openResults', { runId: r.runId, iteration: request.iteration });
        });
    });
  }

  private fireState(): void {
    this.stateChanged.fire(this.state);
  }

  private report(runId: string, e: LoopEvent, progress?: vscode.Progress<{ message?: string; increment?: number }>): void {
    const r = this.running?.runId === runId ? this.running : undefined;
    // One status, said the same way everywhere (describeLive); the notification gets its share
    // of the command as a bar, and the time left of a long phase.
    let status: LiveStatus | undefined = r?.status;
    if (e.type === 'phase') {
      status = { runId, iteration: e.iteration, phase: e.phase, total: e.total, workers: r?.status.workers };
      if (r && e.iteration > 0 && r.first === undefined) r.first = e.iteration;
    } else if (e.type === 'scored') {
      if (r?.status.phase === 'starting') status = undefined;
      else status = { ...(r?.status ?? { runId, phase: 'score' }), iteration: e.iteration, done: e.done, total: e.total };
      // Views update as results arrive, not only at commits.
      this.runChanged.fire(runId);
    } else if (e.type === 'generating') {
      status = { ...(r?.status ?? { runId, phase: 'generate' }), iteration: e.iteration, done: e.done, total: e.total };
    } else if (e.type === 'refining') {
      status = { ...(r?.status ?? { runId }), iteration: e.iteration, phase: 'refine', done: e.progress.step, total: e.progress.steps, detail: describeRefining(e.progress) };
    } else if (e.type === 'workers') {
      const w = e.status;
      const running = w.workers.filter((x) => x.state === 'running').length;
      if (r) r.status = { ...r.status, workers: { summary: describeWorkers(w), lines: w.workers.map((x) => `worker ${describeWorker(x)}`), open: w.state !== 'closed', running, total: w.workers.length } };
      if (w.state === 'closed') this.log.info(`${runId}: ${describeWorkers(w)}`);
      if (r) this.fireState();
      return;
    } else if (e.type === 'paused') {
      progress?.report({ message: `${e.iteration ? `iteration ${e.iteration} · ` : ''}paused for review` });
      return;
    } else if (e.type === 'committed') {
      this.log.info(`${runId}: ${e.message}`);
      this.runChanged.fire(runId);
      return;
    }
    if (!status) return;
    if (r) {
      const left = r.clock.update(status.phase, status.iteration, status.done, status.total);
      status = { ...status, secondsLeft: left };
      r.status = status;
    }
    let increment: number | undefined;
    if (r?.planned) {
      const at = 100 * commandFraction(status, r.planned, r.first ?? status.iteration);
      if (at > r.reported) {
        increment = at - r.reported;
        r.reported = at;
      }
    }
    progress?.report({ message: status.detail ? `${status.iteration ? `iteration ${status.iteration} · ` : ''}${status.detail}` : describeLive(status), increment });
    if (r) this.fireState();
  }

  dispose(): void {
    this.stop();
    this.stateChanged.dispose();
    this.runChanged.dispose();
    this.backendChanged.dispose();
  }
}

/** The scale-out setting: null (the run config's launcher), "local" (none), or a launcher. */
function launcherSetting(): OpenOptions['launcher'] {
  const raw = settings.launcher();
  return raw === 'local' ? 'local' : parseLauncher(raw, 'the setting selfdev.scaleOut.launcher');
}
