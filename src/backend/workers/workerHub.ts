// The backend's side of scale-out: one pool of workers per run, started through a launcher (one
// Slurm job array), and the TLS WebSocket listener they connect back to with a bearer token. The
// hub watches the scheduler's task states, gives back the jobs of lost workers, starts a fresh
// array when every worker is gone and work remains, and cancels the array when the pool closes
// (the iteration's end, a cancel, the daemon stopping, or a pool idle for too long).
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMessageConnection, type MessageReader, type MessageWriter } from 'vscode-jsonrpc/node';
import type { LauncherSpec, WorkerPoolStatus } from '../../protocol/backend';
import {
  ClaimRequest,
  HelloRequest,
  ResultRequest,
  WORKER_ENV,
  WORKER_PROTOCOL_VERSION,
  WorkerCancelNotification,
  WorkerPingRequest,
  WorkerProgressNotification,
} from '../../protocol/worker';
import { makeLauncher } from '../launchers';
import { scancel } from '../launchers/slurm';
import { startWebSocketListener } from '../wsServer';
import { workerCertificate } from './certificate';
import { WorkerPool, type PoolWorker } from './workerPool';

/** What reaches the workers (and sbatch) of the backend's environment: what the runner and the
 * engine need, never the rest (API keys, the backend's own token). */
const PASS_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TMPDIR', 'PYENV_ROOT', 'PYENV_VERSION', 'VIRTUAL_ENV', 'CONDA_PREFIX', 'LD_LIBRARY_PATH', 'SELFDEV_BWRAP', 'ELECTRON_RUN_AS_NODE', 'SLURM_CONF'];

export function workerBaseEnvironment(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && (PASS_ENV.includes(k) || k.startsWith('SBATCH_'))) env[k] = v;
  return env;
}

export interface WorkerHubOptions {
  /** The listener's certificate and the workers' logs live here. */
  stateDir: string;
  /** How a worker starts (default: this Node and this backend script, `--worker`). */
  command?: string[];
  log: (text: string) => void;
  /** How often the scheduler is asked for task states. */
  pollMs?: number;
  /** A pool with nothing to do for this long is closed (its client may be gone). */
  idleCloseMs?: number;
  /** Fresh arrays started when every worker is gone with work left, before the jobs fail. */
  maxRelaunches?: number;
  /** Keep the scheduler ids of open arrays in `<stateDir>/workers/open.json`, so that a backend
   * that crashed cancels them when it starts again (the daemon: one per state folder). */
  recordOpen?: boolean;
}

const DEFAULTS = { pollMs: 3000, idleCloseMs: 10 * 60_000, maxRelaunches: 3, recordOpen: false };

interface OpenRecord {
  run: string;
  kind: LauncherSpec['kind'];
  id: string;
}

const openFile = (stateDir: string) => path.join(stateDir, 'workers', 'open.json');

/** Cancels the Slurm arrays a crashed backend of this state folder left open; returns their ids. */
export async function cancelLeftovers(stateDir: string, log: (text: string) => void): Promise<string[]> {
  const records = await readOpen(stateDir);
  const cancelled: string[] = [];
  for (const r of records) {
    if (r.kind !== 'slurm') continue;
    try {
      await scancel(r.id, workerBaseEnvironment());
      cancelled.push(r.id);
      log(`run ${r.run}: cancelled the workers' array ${r.id} that the backend left when it last stopped\n`);
    } catch (err) {
      log(`run ${r.run}: could not cancel the array ${r.id} left from before: ${(err as Error).message}\n`);
    }
  }
  await fs.rm(openFile(stateDir), { force: true });
  return cancelled;
}

async function readOpen(stateDir: string): Promise<OpenRecord[]> {
  try {
    const v = JSON.parse(await fs.readFile(openFile(stateDir), 'utf8')) as unknown;
    return Array.isArray(v) ? (v as OpenRecord[]).filter((r) => r && typeof r.id === 'string' && typeof r.run === 'string') : [];
  } catch {
    return [];
  }
}

export function checkLauncherSpec(spec: LauncherSpec): void {
  if (spec.kind !== 'slurm' && spec.kind !== 'processes') throw new Error(`unknown launcher ${JSON.stringify(spec.kind)} (known: slurm, processes)`);
  if (!Number.isInteger(spec.workers) || spec.workers < 1) throw new Error(`launcher.workers must be a whole number >= 1, got ${spec.workers}`);
  if (!(spec.leaseSeconds > 0)) throw new Error(`launcher.leaseSeconds must be > 0, got ${spec.leaseSeconds}`);
}

export class WorkerHub {
  private readonly pools = new Map<string, WorkerPool>();
  private readonly listeners = new Map<string, Set<(s: WorkerPoolStatus) => void>>();
  private readonly token = randomBytes(32).toString('hex');
  private listener?: Promise<{ url: string; pem: string; close(): Promise<void> }>;
  private timer?: NodeJS.Timeout;
  private lastPoll = 0;
  private polling = false;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly idleSince = new Map<string, number>();
  private readonly relaunches = new Map<string, number>();
  private readonly o: Required<Omit<WorkerHubOptions, 'command'>> & { command: string[] };

  constructor(opts: WorkerHubOptions) {
    this.o = { ...DEFAULTS, command: [process.execPath, process.argv[1], '--worker'], ...opts } as WorkerHub['o'];
  }

  /** The run's pool while it is open: its score jobs go there. */
  poolFor(run: string): WorkerPool | undefined {
    const p = this.pools.get(run);
    return p && p.state !== 'closed' ? p : undefined;
  }

  status(run: string): WorkerPoolStatus | undefined {
    return this.pools.get(run)?.status();
  }

  statuses(): WorkerPoolStatus[] {
    return [...this.pools.values()].map((p) => p.status());
  }

  /** Hears a run's pool states; returns the way to stop. */
  onStatus(run: string, listener: (s: WorkerPoolStatus) => void): () => void {
    let set = this.listeners.get(run);
    if (!set) this.listeners.set(run, (set = new Set()));
    set.add(listener);
    return () => set!.delete(listener);
  }

  /** Opens the run's pool and launches its workers; an open pool is joined as it is. */
  async open(run: string, spec: LauncherSpec): Promise<WorkerPoolStatus> {
    checkLauncherSpec(spec);
    const open = this.poolFor(run);
    if (open) return open.status();
    const pool = new WorkerPool(run, spec, () => this.changed(run));
    this.pools.set(run, pool);
    this.relaunches.set(run, 0);
    try {
      await this.launch(pool);
    } catch (err) {
      pool.close((err as Error).message);
      this.pools.delete(run);
      throw err;
    }
    this.startTimer();
    return pool.status();
  }

  private async launch(pool: WorkerPool): Promise<void> {
    const { url, pem } = await this.listen(pool.spec);
    const launch = pool.newLaunch();
    const launcher = makeLauncher(pool.spec, workerBaseEnvironment());
    const logDir = path.join(this.o.stateDir, 'workers', safeName(pool.run));
    // Slurm does not make the output folder; a task that cannot open its log fails at once.
    await fs.mkdir(logDir, { recursive: true, mode: 0o700 });
    const unit = await launcher.launch(pool.spec.workers, {
      command: this.o.command,
      env: { [WORKER_ENV.url]: url, [WORKER_ENV.token]: this.token, [WORKER_ENV.certificate]: pem, [WORKER_ENV.pool]: launch },
      name: `selfdev-${safeName(pool.run)}`.slice(0, 60),
      logDir,
    });
    pool.launched(launch, unit);
    await this.record((open) => [...open, { run: pool.run, kind: pool.spec.kind, id: unit.id }]);
    pool.tasksOf(launch, await unit.tasks().catch(() => undefined));
    this.o.log(`run ${pool.run}: ${pool.spec.workers} worker(s) launched (${launcher.kind} ${unit.id}); their logs in ${logDir}\n`);
  }

  /** The listener, started with the first pool (TLS always: workers are on other machines). */
  private listen(spec: LauncherSpec): Promise<{ url: string; pem: string; close(): Promise<void> }> {
    this.listener ??= (async () => {
      const cert = await workerCertificate(path.join(this.o.stateDir, 'worker-tls'));
      const local = spec.kind === 'processes';
      const host = spec.listenHost ?? (local ? '127.0.0.1' : '0.0.0.0');
      const l = await startWebSocketListener(
        { url: `wss://${host.includes(':') ? `[${host}]` : host}:${spec.listenPort ?? 0}`, token: this.token, tlsCert: cert.cert, tlsKey: cert.key },
        (reader, writer, hangUp) => this.accept(reader, writer, hangUp),
        this.o.log,
      );
      const port = new URL(l.url).port;
      const advertise = spec.advertiseHost ?? (local ? '127.0.0.1' : os.hostname());
      return { url: `wss://${advertise.includes(':') ? `[${advertise}]` : advertise}:${port}`, pem: cert.pem, close: l.close };
    })();
    this.listener.catch(() => (this.listener = undefined));
    return this.listener;
  }

  private accept(reader: MessageReader, writer: MessageWriter, hangUp: () => void): void {
    const conn = createMessageConnection(reader, writer);
    let worker: PoolWorker | undefined;
    let pool: WorkerPool | undefined;
    const need = () => {
      if (!worker || !pool) throw new Error('say hello first');
      return { worker, pool };
    };
    conn.onRequest(HelloRequest, (p) => {
      if (p.protocolVersion !== WORKER_PROTOCOL_VERSION) throw new Error(`worker protocol ${p.protocolVersion} is not this backend's (${WORKER_PROTOCOL_VERSION}): the worker runs another build`);
      pool = [...this.pools.values()].find((x) => x.ownsLaunch(p.pool) && x.state !== 'closed');
      if (!pool) throw new Error(`no open pool ${p.pool}: it was closed`);
      if (worker) worker.connected = false;
      worker = {
        key: `${p.pool}/${p.index}`,
        launch: p.pool,
        index: p.index,
        host: p.host,
        pid: p.pid,
        task: p.task,
        lastSeen: Date.now(),
        connected: true,
        jobsDone: 0,
        cancel: (lease) => void conn.sendNotification(WorkerCancelNotification, { lease }).catch(() => undefined),
      };
      const dropped = pool.hello(worker, p.holding);
      this.o.log(`run ${pool.run}: worker ${p.task ?? p.index} connected from ${p.host} (pid ${p.pid})${p.holding.length ? `, holding ${p.holding.length} job(s)` : ''}\n`);
      return { leaseSeconds: pool.spec.leaseSeconds, heartbeatSeconds: Math.max(0.5, pool.spec.leaseSeconds / 4), dropped };
    });
    conn.onRequest(ClaimRequest, () => {
      const { worker: w, pool: p } = need();
      return p.claim(w);
    });
    conn.onNotification(WorkerProgressNotification, (n) => {
      if (worker && pool) pool.progress(worker, n.lease, n.progress);
    });
    conn.onRequest(ResultRequest, (r) => {
      const { worker: w, pool: p } = need();
      const recorded = p.result(w, r.lease, r);
      if (!recorded) this.o.log(`run ${p.run}: a result of worker ${w.task ?? w.index} for a job already settled was dropped\n`);
      return { recorded };
    });
    conn.onRequest(WorkerPingRequest, () => {
      const { worker: w, pool: p } = need();
      p.seen(w);
      return { time: Date.now() };
    });
    conn.onClose(() => {
      if (worker && pool) {
        pool.disconnected(worker);
        if (pool.state !== 'closed') this.o.log(`run ${pool.run}: worker ${worker.task ?? worker.index} disconnected\n`);
      }
      hangUp();
    });
    conn.listen();
  }

  /** Closes a run's pool: the scheduler cancels its workers; jobs not done fail. */
  async close(run: string, why = 'done'): Promise<WorkerPoolStatus | undefined> {
    const pool = this.pools.get(run);
    if (!pool) return undefined;
    const units = pool.close(why);
    await Promise.all(units.map((u) => u.cancel().catch((err: Error) => this.o.log(`run ${run}: cancelling workers ${u.id}: ${err.message}\n`))));
    const ids = new Set(units.map((u) => u.id));
    await this.record((open) => open.filter((r) => !ids.has(r.id)));
    if (units.length) this.o.log(`run ${run}: workers released (${why})\n`);
    this.flush(run);
    return pool.status();
  }

  async closeAll(why: string): Promise<void> {
    await Promise.all([...this.pools.keys()].map((run) => this.close(run, why)));
    clearInterval(this.timer);
    this.timer = undefined;
    const l = await this.listener?.catch(() => undefined);
    this.listener = undefined;
    await l?.close();
  }

  /** One writer at a time of the open arrays' file. */
  private recording: Promise<void> = Promise.resolve();

  private record(change: (open: OpenRecord[]) => OpenRecord[]): Promise<void> {
    if (!this.o.recordOpen) return Promise.resolve();
    const file = openFile(this.o.stateDir);
    this.recording = this.recording.then(async () => {
      const next = change(await readOpen(this.o.stateDir));
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(`${file}.tmp`, JSON.stringify(next));
      await fs.rename(`${file}.tmp`, file);
    }).catch((err: Error) => this.o.log(`could not record the open worker arrays: ${err.message}\n`));
    return this.recording;
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), 1000);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const open = [...this.pools.values()].filter((p) => p.state !== 'closed');
    for (const p of open) p.expire();
    if (this.polling || Date.now() - this.lastPoll < this.o.pollMs) return;
    this.polling = true;
    this.lastPoll = Date.now();
    try {
      for (const p of open) await this.poll(p);
    } finally {
      this.polling = false;
    }
  }

  private async poll(pool: WorkerPool): Promise<void> {
    for (const id of pool.launchIds) {
      const unit = pool.unit(id);
      if (unit) pool.tasksOf(id, await unit.tasks().catch(() => undefined));
    }
    if (pool.state === 'closed') return;
    if (pool.stranded) {
      const n = this.relaunches.get(pool.run) ?? 0;
      if (n >= this.o.maxRelaunches) {
        await this.close(pool.run, `every worker ended ${n + 1} time(s) with work left; see the workers' logs in ${path.join(this.o.stateDir, 'workers', safeName(pool.run))}`);
        return;
      }
      this.relaunches.set(pool.run, n + 1);
      this.o.log(`run ${pool.run}: every worker is gone with ${pool.unsettled} job(s) left: launching again\n`);
      await this.launch(pool).catch((err: Error) => this.close(pool.run, `launching workers again failed: ${err.message}`));
      return;
    }
    // Nothing to do for long: the client may be gone; nothing is left queued on the cluster.
    if (pool.unsettled === 0) {
      const since = this.idleSince.get(pool.run) ?? Date.now();
      this.idleSince.set(pool.run, since);
      if (Date.now() - since > this.o.idleCloseMs) await this.close(pool.run, `idle for ${Math.round(this.o.idleCloseMs / 60_000)} min`);
    } else this.idleSince.delete(pool.run);
  }

  /** Pool changes reach listeners at most every 200 ms. */
  private changed(run: string): void {
    if (this.pending.has(run)) return;
    this.pending.set(
      run,
      setTimeout(() => this.flush(run), 200),
    );
  }

  private flush(run: string): void {
    clearTimeout(this.pending.get(run));
    this.pending.delete(run);
    const pool = this.pools.get(run);
    if (!pool) return;
    const s = pool.status();
    for (const l of this.listeners.get(run) ?? []) l(s);
  }
}

/** A run id as a file and job name. */
function safeName(run: string): string {
  return run.replace(/[^A-Za-z0-9._-]/g, '_');
}
