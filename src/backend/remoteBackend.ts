// The orchestrator's side of a backend daemon, over any link (ssh, WebSocket, a unix socket).
// Jobs are submitted by id and their outcome read from the run's event log, so the link may drop
// at any time: the client reconnects with backoff, attaches from the last offset it saw (or from
// 0 when the daemon restarted), and submits again whatever the daemon does not have running or
// finished; the daemon's journal answers those that had finished. A silent link is found by the
// heartbeat and dropped.
import { createMessageConnection, type MessageConnection, type MessageReader, type MessageWriter } from 'vscode-jsonrpc/node';
import {
  AttachRequest,
  CancelRequest,
  InitializeRequest,
  JobEventNotification,
  PingRequest,
  PROTOCOL_VERSION,
  ShutdownRequest,
  SubmitRequest,
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
  type JobErrorData,
  type JobEventParams,
  type ProgressParams,
  type RefineParams,
  type RefineProgressParams,
  type RefineResult,
  type ScoreParams,
  type ScoreResult,
  type SubmitParams,
  type ExportModelParams,
  type ExportModelResult,
  type ExportProgressParams,
} from '../protocol/backend';
import { runOfJob } from './jobRegistry';

/** A byte link to a daemon, made by a transport. */
export interface Link {
  reader: MessageReader;
  writer: MessageWriter;
  /** Resolves when the link is gone, with why. */
  closed: Promise<string>;
  /** Set before `closed` resolves when the reason is one retrying cannot fix. */
  fatal?: boolean;
  /** The process carrying the link, where there is one (ssh). */
  pid?: number;
  close(): void;
}

/** A connection problem that retrying cannot fix (authentication, an unknown host key, a
 * protocol mismatch): the client stops and says so. */
export class FatalLinkError extends Error {
  override name = 'FatalLinkError';
}

export class BackendLostError extends Error {
  override name = 'BackendLostError';
}

export class RemoteJobError extends Error {
  constructor(message: string, name?: string) {
    super(message);
    if (name && name !== 'Error') this.name = name;
  }
}

export type LinkState = 'connected' | 'reconnecting' | 'lost';

export interface RemoteBackendOptions {
  /** Makes a new link (throws FatalLinkError for problems retrying cannot fix). */
  connect: () => Promise<Link>;
  clientVersion: string;
  /** How the backend is shown: "ssh gpu1", "wss://gpu1:8765". */
  name: string;
  heartbeatIntervalMs?: number;
  /** No answer to a ping for this long: the link is dropped and made again. */
  heartbeatTimeoutMs?: number;
  /** Backoff between reconnection attempts: from initial, doubling, at most max. */
  backoffMs?: { initial: number; max: number };
  /** Without a link for this long, the client gives up: jobs waiting fail with BackendLostError. */
  giveUpAfterMs?: number;
  onState?: (state: LinkState, detail: string) => void;
}

interface Pending {
  submit: SubmitParams;
  run: string;
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (p: never) => void;
  /** The connection the job was last submitted on. */
  sentOn?: MessageConnection;
}

type JobOptions<N> = { signal?: AbortSignal; onProgress?: (p: N) => void };

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });

/** Connects to a daemon (the first connection must succeed) and returns the Backend. */
export async function connectRemoteBackend(opts: RemoteBackendOptions): Promise<RemoteBackend> {
  const b = new RemoteBackend(opts);
  await b.start();
  return b;
}

export class RemoteBackend implements Backend {
  info!: InitializeResult;
  state: LinkState = 'reconnecting';
  private link?: Link;
  private conn?: MessageConnection;
  private daemonId?: string;
  /** Per run, the offset of the next event not yet seen. */
  private readonly offsets = new Map<string, number>();
  /** Runs attached on the current connection (the attach in flight or done). */
  private attached = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, Pending>();
  /** Worker pools this client opened: opened again on a daemon that restarted (before any job is
   * submitted again, so none runs on the daemon's own machine by mistake). */
  private readonly pools = new Map<string, { params: OpenWorkersParams; onStatus?: (s: WorkerPoolStatus) => void }>();
  /** Jobs cancelled while there was no link: cancelled at the next connection. */
  private readonly toCancel = new Set<string>();
  private heartbeat?: NodeJS.Timeout;
  private reconnecting?: Promise<void>;
  private disposed = false;
  private lostReason?: string;

  constructor(private readonly opts: RemoteBackendOptions) {}

  private get hb() {
    return { interval: this.opts.heartbeatIntervalMs ?? 5000, timeout: this.opts.heartbeatTimeoutMs ?? 15_000 };
  }

  async start(): Promise<void> {
    await this.connectOnce();
  }

  score(params: ScoreParams, opts: JobOptions<ProgressParams> = {}): Promise<ScoreResult> {
    return this.job({ kind: 'score', params }, opts) as Promise<ScoreResult>;
  }

  generate(params: GenerateParams, opts: JobOptions<GenerateProgressParams> = {}): Promise<GenerateResult> {
    return this.job({ kind: 'generate', params }, opts) as Promise<GenerateResult>;
  }

  refine(params: RefineParams, opts: JobOptions<RefineProgressParams> = {}): Promise<RefineResult> {
    return this.job({ kind: 'refine', params }, opts) as Promise<RefineResult>;
  }

  exportModel(params: ExportModelParams, opts: JobOptions<ExportProgressParams> = {}): Promise<ExportModelResult> {
    return this.job({ kind: 'export', params }, opts) as Promise<ExportModelResult>;
  }

  async openWorkers(params: OpenWorkersParams, onStatus?: (s: WorkerPoolStatus) => void): Promise<WorkerPoolStatus> {
    this.pools.set(params.run, { params, onStatus });
    const conn = this.conn;
    if (!conn || this.state !== 'connected') throw new Error(`the backend ${this.opts.name} is not connected (${this.state})`);
    return conn.sendRequest(OpenWorkersRequest, params);
  }

  async closeWorkers(run: string, reason?: string): Promise<WorkerPoolStatus | undefined> {
    const pool = this.pools.get(run);
    this.pools.delete(run);
    const conn = this.conn;
    if (!conn || this.state !== 'connected') return undefined;
    const s = (await conn.sendRequest(CloseWorkersRequest, { run, reason })) ?? undefined;
    if (s) pool?.onStatus?.(s);
    return s;
  }

  private job<N>(submit: SubmitParams, opts: JobOptions<N>): Promise<unknown> {
    const jobId = submit.params.jobId;
    if (this.state === 'lost') return Promise.reject(new BackendLostError(`the backend ${this.opts.name} is lost: ${this.lostReason}`));
    if (opts.signal?.aborted) return Promise.reject(new Error(`job ${jobId} was cancelled`));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.delete(jobId)) return;
        if (this.conn && this.state === 'connected') this.conn.sendRequest(CancelRequest, { jobId }).catch(() => this.toCancel.add(jobId));
        else this.toCancel.add(jobId);
        reject(new Error(`job ${jobId} was cancelled`));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const settle =
        <T>(f: (v: T) => void) =>
        (v: T) => {
          opts.signal?.removeEventListener('abort', onAbort);
          f(v);
        };
      this.pending.set(jobId, { submit, run: runOfJob(jobId), resolve: settle(resolve), reject: settle(reject), onProgress: opts.onProgress as ((p: never) => void) | undefined });
      if (this.conn && this.state === 'connected') void this.send(this.conn, jobId);
    });
  }

  /** Attaches the job's run (once per connection) and submits the job. */
  private async send(conn: MessageConnection, jobId: string): Promise<void> {
    const p = this.pending.get(jobId);
    if (!p) return;
    try {
      await this.attach(conn, p.run);
      if (this.pending.get(jobId) === p && p.sentOn !== conn) {
        p.sentOn = conn;
        await conn.sendRequest(SubmitRequest, p.submit);
      }
    } catch (err) {
      // A link that dropped is made again and the job sent then; a refusal of the job fails it.
      if (this.conn === conn && this.state === 'connected' && this.pending.get(jobId) === p && !isConnectionError(err)) {
        this.pending.delete(jobId);
        p.reject(new RemoteJobError(`the backend refused job ${jobId}: ${(err as Error).message}`));
      }
    }
  }

  private attach(conn: MessageConnection, run: string): Promise<void> {
    let a = this.attached.get(run);
    if (!a) {
      a = (async () => {
        const r = await conn.sendRequest(AttachRequest, { run, offset: this.offsets.get(run) ?? 0 });
        // The events from the offset have been handled (they come before the answer): whatever of
        // ours is still waiting and not running there must be submitted again.
        const known = new Map(r.jobs.map((j) => [j.jobId, j.status]));
        for (const jobId of this.toCancel) {
          if (runOfJob(jobId) !== run) continue;
          this.toCancel.delete(jobId);
          if (known.get(jobId) === 'running') void conn.sendRequest(CancelRequest, { jobId }).catch(() => undefined);
        }
        for (const [jobId, p] of this.pending) {
          const status = known.get(jobId);
          if (p.run !== run || p.sentOn === conn) continue;
          p.sentOn = conn;
          if (status !== 'running') void conn.sendRequest(SubmitRequest, p.submit).catch(() => undefined);
        }
      })();
      a.catch(() => this.attached.delete(run));
      this.attached.set(run, a);
    }
    return a;
  }

  private onEvent(e: JobEventParams): void {
    this.offsets.set(e.run, Math.max(this.offsets.get(e.run) ?? 0, e.offset + 1));
    const p = this.pending.get(e.jobId);
    if (!p) return;
    if (e.kind === 'progress') {
      p.onProgress?.(e.data as never);
      return;
    }
    const err = e.data as JobErrorData;
    // A job the daemon cancelled itself (it was stopping) is submitted again at the next connection.
    if (e.kind === 'error' && err.cancelled) return;
    this.pending.delete(e.jobId);
    if (e.kind === 'result') p.resolve(e.data);
    else p.reject(new RemoteJobError(err.message, err.name));
  }

  private async connectOnce(): Promise<void> {
    const link = await this.opts.connect();
    const conn = createMessageConnection(link.reader, link.writer);
    conn.onNotification(JobEventNotification, (e) => {
      if (this.conn === conn) this.onEvent(e);
    });
    conn.onNotification(WorkersNotification, (s) => {
      if (this.conn === conn) this.pools.get(s.run)?.onStatus?.(s);
    });
    conn.listen();
    let info: InitializeResult;
    try {
      const handshake = conn.sendRequest(InitializeRequest, { protocolVersion: PROTOCOL_VERSION, clientVersion: this.opts.clientVersion });
      const gone = link.closed.then((why): never => {
        throw link.fatal ? new FatalLinkError(why) : new Error(why);
      });
      info = await withTimeout(Promise.race([handshake, gone]), Math.max(this.hb.timeout, 30_000), 'the handshake');
    } catch (err) {
      conn.dispose();
      link.close();
      const message = `${this.opts.name}: ${(err as Error).message}`;
      if (err instanceof FatalLinkError || /protocol version/.test(message)) throw new FatalLinkError(message);
      throw new Error(message);
    }
    if (!info.daemonId) {
      conn.dispose();
      link.close();
      throw new FatalLinkError(`${this.opts.name} is not a backend daemon (no daemon id at the handshake)`);
    }
    // A pool lives in its daemon: one that restarted has none, so it is opened again before any
    // job is submitted again (else those would run on the daemon's own machine).
    for (const { params } of this.pools.values()) await conn.sendRequest(OpenWorkersRequest, params).catch(() => undefined);
    // A new daemon has new logs: offsets from 0.
    if (info.daemonId !== this.daemonId) this.offsets.clear();
    this.daemonId = info.daemonId;
    this.info = info;
    this.link = link;
    this.conn = conn;
    this.attached = new Map();
    this.setState('connected', `${info.host ?? this.opts.name}: backend ${info.backendVersion}, ${info.executionProviders.join(', ')}${info.gpus?.length ? `, ${info.gpus.length} GPU(s)` : ''}`);
    void link.closed.then((why) => this.drop(conn, why));
    conn.onClose(() => this.drop(conn, 'the connection closed'));
    this.startHeartbeat(conn);
    const runs = new Set([...[...this.pending.values()].map((p) => p.run), ...[...this.toCancel].map(runOfJob)]);
    for (const run of runs) void this.attach(conn, run).catch(() => undefined);
  }

  private startHeartbeat(conn: MessageConnection): void {
    clearInterval(this.heartbeat);
    let inFlight = false;
    this.heartbeat = setInterval(() => {
      if (inFlight || this.conn !== conn) return;
      inFlight = true;
      withTimeout(conn.sendRequest(PingRequest), this.hb.timeout, 'a heartbeat').then(
        () => (inFlight = false),
        (err: Error) => this.drop(conn, `no heartbeat: ${err.message}`),
      );
    }, this.hb.interval);
    this.heartbeat.unref();
  }

  /** The link of `conn` is gone: make a new one, with backoff, unless disposed. */
  private drop(conn: MessageConnection, why: string): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    clearInterval(this.heartbeat);
    conn.dispose();
    this.link?.close();
    this.link = undefined;
    if (this.disposed) return;
    this.setState('reconnecting', why);
    this.reconnecting ??= this.reconnect(why).finally(() => (this.reconnecting = undefined));
  }

  private async reconnect(firstReason: string): Promise<void> {
    const { initial, max } = this.opts.backoffMs ?? { initial: 500, max: 15_000 };
    const giveUp = Date.now() + (this.opts.giveUpAfterMs ?? 10 * 60_000);
    let delay = initial;
    let reason = firstReason;
    for (let attempt = 1; !this.disposed; attempt++) {
      await new Promise((r) => setTimeout(r, delay));
      if (this.disposed) return;
      try {
        await this.connectOnce();
        return;
      } catch (err) {
        reason = (err as Error).message;
        if (err instanceof FatalLinkError || (err as { fatal?: boolean }).fatal || Date.now() > giveUp) break;
        this.setState('reconnecting', `attempt ${attempt} failed: ${reason}; next in ${Math.round(Math.min(max, delay * 2) / 1000)} s`);
        delay = Math.min(max, delay * 2);
      }
    }
    if (this.disposed) return;
    this.lostReason = reason;
    this.setState('lost', reason);
    for (const [jobId, p] of this.pending) {
      this.pending.delete(jobId);
      p.reject(new BackendLostError(`lost the backend ${this.opts.name} (${reason}); run the iteration again to resume: finished jobs are answered from the backend's journal`));
    }
  }

  private setState(state: LinkState, detail: string): void {
    this.state = state;
    this.opts.onState?.(state, detail);
  }

  /** Leaves the daemon (its jobs go on); jobs still waiting here fail. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.heartbeat);
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await withTimeout(conn.sendRequest(ShutdownRequest), 2000, 'leaving').catch(() => undefined);
    conn?.dispose();
    this.link?.close();
    for (const [jobId, p] of this.pending) {
      this.pending.delete(jobId);
      p.reject(new Error(`the connection to ${this.opts.name} was closed before job ${jobId} finished`));
    }
  }
}

function isConnectionError(err: unknown): boolean {
  const m = (err as Error)?.message ?? '';
  return /connection (is )?(closed|disposed)|Connection got disposed|write after end|EPIPE|ECONNRESET/i.test(m);
}
