// Drives the loop from VS Code: the orchestrator runs here (it is light: files, git, pairs,
// DPO on a small table), the heavy work in the backend child process. One loop at a time,
// with a cancellable progress notification; the Runs tree refreshes as results arrive.
import * as vscode from 'vscode';
import { startLocalBackend } from '../backend/client';
import { readRunConfig } from '../core/config/runConfig';
import { LoopCancelled, RunLoop, runHeader, type LoopEvent } from '../core/loop/runLoop';
import { RunStore, type Run } from '../core/store/runStore';
import { resolveInterpreter } from './pythonInterpreter';
import { runsLocation, settings } from './settings';

export class LoopController {
  private running: { runId: string; controller: AbortController } | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly onChange: () => void,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get busy(): string | undefined {
    return this.running?.runId;
  }

  private async store(): Promise<RunStore> {
    return RunStore.open(runsLocation(this.context), vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
  }

  async createRun(configFile: string): Promise<Run> {
    const config = await readRunConfig(configFile);
    const id = `${config.name}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
    const version = (this.context.extension.packageJSON as { version: string }).version;
    const run = await (await this.store()).create(id, { 'run.json': JSON.stringify(runHeader(id, config, configFile, version), null, 1) + '\n' }, `create run ${id} from ${vscode.workspace.asRelativePath(configFile)}`);
    this.log.info(`created run ${id} (branch ${run.branch}, worktree ${run.dir})`);
    this.onChange();
    return run;
  }

  async openRun(id: string): Promise<Run> {
    return (await this.store()).open(id);
  }

  /**
   * Runs `fn` on the run's loop with a backend, a progress notification and cancellation.
   * Returns undefined when the user stopped it (the run continues from there next time).
   */
  async withLoop<T>(run: Run, title: string, fn: (loop: RunLoop) => Promise<T>): Promise<T | undefined> {
    if (this.running) throw new Error(`run ${this.running.runId} is in progress; stop it first (Self-Developing: Stop)`);
    const controller = new AbortController();
    this.running = { runId: run.id, controller };
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Self-Developing: ${title}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          const ext = this.context.extensionUri;
          const backend = await startLocalBackend({
            script: vscode.Uri.joinPath(ext, 'out', 'backend.js').fsPath,
            clientVersion: (this.context.extension.packageJSON as { version: string }).version,
            journalDir: vscode.Uri.joinPath(vscode.Uri.file(runsLocation(this.context)), '.journal').fsPath,
            onStderr: (t) => this.log.debug(`backend: ${t.trimEnd()}`),
          });
          try {
            const loop = await RunLoop.open(run, {
              backend,
              python: await resolveInterpreter(),
              algorithmsDir: vscode.Uri.joinPath(ext, 'resources', 'algorithms').fsPath,
              executionProvider: settings.executionProvider(),
              threads: settings.threads() || undefined,
              signal: controller.signal,
              onEvent: (e) => this.report(e, progress),
              log: (line) => this.log.warn(line),
            });
            return await fn(loop);
          } finally {
            await backend.dispose();
          }
        },
      );
    } catch (err) {
      if (!(err instanceof LoopCancelled) && !controller.signal.aborted) throw err;
      void vscode.window.showInformationMessage(`Self-Developing: stopped run ${run.id}; Run Next Iteration continues it where it stopped.`);
      return undefined;
    } finally {
      this.running = undefined;
      this.onChange();
    }
  }

  stop(): boolean {
    this.running?.controller.abort();
    return Boolean(this.running);
  }

  private report(e: LoopEvent, progress: vscode.Progress<{ message?: string }>): void {
    if (e.type === 'phase') progress.report({ message: `${e.iteration ? `iteration ${e.iteration}: ` : ''}${e.phase}` });
    else if (e.type === 'scored') {
      progress.report({ message: `${e.iteration ? `iteration ${e.iteration}: ` : ''}scored ${e.done}/${e.total}` });
    } else if (e.type === 'committed') {
      this.log.info(e.message);
      this.onChange();
    }
  }
}
