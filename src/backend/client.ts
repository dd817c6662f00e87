// The orchestrator's side of the backend protocol, for a backend started as a local child
// process (stdio). Remote transports will implement the same Backend interface.
import { spawn, type ChildProcess } from 'node:child_process';
import { CancellationTokenSource, createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection, type RequestType } from 'vscode-jsonrpc/node';
import {
  GenerateProgressNotification,
  GenerateRequest,
  InitializeRequest,
  PROTOCOL_VERSION,
  ProgressNotification,
  RefineProgressNotification,
  RefineRequest,
  ExportModelRequest,
  ExportProgressNotification,
  type ExportModelParams,
  type ExportModelResult,
  type ExportProgressParams,
  ScoreRequest,
  ShutdownRequest,
  CloseWorkersRequest,
  OpenWorkersRequest,
  WorkersNotification,
  type Backend,
  type OpenWorkersParams,
  type WorkerPoolStatus,
  type GenerateParams,
  type GenerateProgressParams,
  type GenerateResult,
  type InitializeResult,
  type ProgressParams,
  type RefineParams,
  type RefineProgressParams,
  type RefineResult,
  type ScoreParams,
  type ScoreResult,
} from '../protocol/backend';

export type { Backend } from '../protocol/backend';

export class BackendExited extends Error {
  constructor(detail: string) {
    super(`the backend process stopped: ${detail}`);
    this.name = 'BackendExited';
  }
}

export interface LocalBackendOptions {
  /** out/backend.js of this installation. */
  script: string;
  clientVersion: string;
  journalDir?: string;
  /** Where the backend keeps refined generators (outside git). */
  artifactsDir?: string;
  /** Defaults to this process's executable (Electron inside VS Code, run as Node). */
  nodePath?: string;
  env?: NodeJS.ProcessEnv;
  onStderr?: (text: string) => void;
}

export async function startLocalBackend(opts: LocalBackendOptions): Promise<Backend> {
  const child = spawn(opts.nodePath ?? process.execPath, [opts.script, '--stdio'], {
    env: { ...(opts.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    stderr = (stderr + text).slice(-4000);
    opts.onStderr?.(text);
  });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, sig) => reject(new BackendExited(`${sig ? `signal ${sig}` : `exit code ${code}`}${stderr ? `; it said: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`)));
    child.once('error', (err) => reject(new BackendExited(err.message)));
  });
  exited.catch(() => undefined);
  connection.listen();
  const info = await Promise.race([connection.sendRequest(InitializeRequest, { protocolVersion: PROTOCOL_VERSION, clientVersion: opts.clientVersion, journalDir: opts.journalDir, artifactsDir: opts.artifactsDir }), exited]);
  return new LocalBackend(child, connection, info, exited);
}

class LocalBackend implements Backend {
  private readonly listeners = new Map<string, (p: ProgressParams) => void>();
  private readonly generateListeners = new Map<string, (p: GenerateProgressParams) => void>();
  private readonly refineListeners = new Map<string, (p: RefineProgressParams) => void>();
  private readonly exportListeners = new Map<string, (p: ExportProgressParams) => void>();

  constructor(
    private readonly child: ChildProcess,
    private readonly connection: MessageConnection,
    readonly info: InitializeResult,
    private readonly exited: Promise<never>,
  ) {
    connection.onNotification(ProgressNotification, (p) => this.listeners.get(p.jobId)?.(p));
    connection.onNotification(GenerateProgressNotification, (p) => this.generateListeners.get(p.jobId)?.(p));
    connection.onNotification(RefineProgressNotification, (p) => this.refineListeners.get(p.jobId)?.(p));
    connection.onNotification(ExportProgressNotification, (p) => this.exportListeners.get(p.jobId)?.(p));
    connection.onNotification(WorkersNotification, (s) => this.workerListeners.get(s.run)?.(s));
  }

  private readonly workerListeners = new Map<string, (s: WorkerPoolStatus) => void>();

  async openWorkers(params: OpenWorkersParams, onStatus?: (s: WorkerPoolStatus) => void): Promise<WorkerPoolStatus> {
    if (onStatus) this.workerListeners.set(params.run, onStatus);
    return Promise.race([this.connection.sendRequest(OpenWorkersRequest, params), this.exited]);
  }

  async closeWorkers(run: string, reason?: string): Promise<WorkerPoolStatus | undefined> {
    const s = await Promise.race([this.connection.sendRequest(CloseWorkersRequest, { run, reason }), this.exited]);
    if (s) this.workerListeners.get(run)?.(s);
    this.workerListeners.delete(run);
    return s ?? undefined;
  }

  refine(params: RefineParams, opts: { signal?: AbortSignal; onProgress?: (p: RefineProgressParams) => void } = {}): Promise<RefineResult> {
    return this.job(RefineRequest, params, this.refineListeners, opts);
  }

  exportModel(params: ExportModelParams, opts: { signal?: AbortSignal; onProgress?: (p: ExportProgressParams) => void } = {}): Promise<ExportModelResult> {
    return this.job(ExportModelRequest, params, this.exportListeners, opts);
  }

  generate(params: GenerateParams, opts: { signal?: AbortSignal; onProgress?: (p: GenerateProgressParams) => void } = {}): Promise<GenerateResult> {
    return this.job(GenerateRequest, params, this.generateListeners, opts);
  }

  score(params: ScoreParams, opts: { signal?: AbortSignal; onProgress?: (p: ProgressParams) => void } = {}): Promise<ScoreResult> {
    return this.job(ScoreRequest, params, this.listeners, opts);
  }

  /** One job: cancellable through the signal, its progress routed by job id, failing when the process dies. */
  private async job<P extends { jobId: string }, R, N>(
    type: RequestType<P, R, void>,
    params: P,
    listeners: Map<string, (p: N) => void>,
    opts: { signal?: AbortSignal; onProgress?: (p: N) => void },
  ): Promise<R> {
    const cancel = new CancellationTokenSource();
    const onAbort = () => cancel.cancel();
    opts.signal?.addEventListener('abort', onAbort);
    if (opts.onProgress) listeners.set(params.jobId, opts.onProgress);
    try {
      return await Promise.race([this.connection.sendRequest(type, params, cancel.token), this.exited]);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      listeners.delete(params.jobId);
      cancel.dispose();
    }
  }

  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      // The backend exits as it answers, so its exit counts as the answer: no wait for a reply
      // that may never be flushed.
      const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.connection.sendRequest(ShutdownRequest).catch(() => undefined), gone, new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
    }
    // Also after a crash: nothing of the connection may keep the caller's process alive.
    this.connection.dispose();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) s?.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
  }
}
