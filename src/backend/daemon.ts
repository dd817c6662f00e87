// The backend daemon of a GPU machine: owns the jobs (JobService) across client connections,
// serves clients on a private unix socket in its state folder (ssh clients reach it through the
// bridge, `backend.js --bridge`) and, when asked, on a WebSocket with a bearer token. One daemon
// per state folder (a pid lock); it stops after a while with no client and no running job.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type MessageReader, type MessageWriter } from 'vscode-jsonrpc/node';
import { PROTOCOL_VERSION, type DaemonStatus } from '../protocol/backend';
import { pidFile, socketPath } from './daemonPaths';
import { JobService } from './jobService';
import { cancelLeftovers } from './workers/workerHub';
import { serveConnection } from './server';
import { checkListenOptions, startWebSocketListener, type WebSocketListenOptions } from './wsServer';

export interface DaemonOptions {
  stateDir: string;
  version: string;
  /** Seconds with no client and no running job before the daemon stops; 0: never. */
  idleShutdownSeconds: number;
  /** A client silent (not even a ping) for this long is treated as gone. */
  heartbeatTimeoutMs: number;
  websocket?: WebSocketListenOptions;
  log: (text: string) => void;
}

export const DEFAULT_IDLE_SHUTDOWN_SECONDS = 30 * 60;
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000;


// Unix socket paths are limited to about 108 bytes (104 on macOS).
const MAX_SOCKET_PATH = 100;

export interface RunningDaemon {
  id: string;
  socket: string;
  /** The WebSocket listener's address, when there is one. */
  websocketUrl?: string;
  stop(): Promise<void>;
  stopped: Promise<void>;
}

export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  // Refuse a listener that would be unsafe before taking anything.
  if (opts.websocket) checkListenOptions(opts.websocket);
  const sock = socketPath(opts.stateDir);
  if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) throw new Error(`the daemon's socket path ${sock} is too long for a unix socket; choose a shorter state folder (--state or SELFDEV_BACKEND_STATE)`);
  await fs.mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
  // Only this user may reach the socket and read the journal.
  await fs.chmod(opts.stateDir, 0o700);
  await takeLock(opts.stateDir);

  const id = randomUUID();
  const startedAt = new Date().toISOString();
  const service = await JobService.open({
    journalDir: path.join(opts.stateDir, 'journal'),
    artifactsDir: path.join(opts.stateDir, 'artifacts'),
    stateDir: opts.stateDir,
    workersDir: opts.stateDir,
    recordOpenWorkers: true,
    log: opts.log,
  });
  // Workers a crashed daemon left queued or running are cancelled: their pools died with it.
  await cancelLeftovers(opts.stateDir, opts.log);
  if (service.registry.interrupted.length) opts.log(`${service.registry.interrupted.length} job(s) were running when the daemon last stopped: marked interrupted for their clients to submit again\n`);

  const clients = new Set<() => void>();
  let lastActive = Date.now();
  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));

  const status = (): DaemonStatus => ({
    pid: process.pid,
    daemonId: id,
    backendVersion: opts.version,
    protocolVersion: PROTOCOL_VERSION,
    host: os.hostname(),
    stateDir: opts.stateDir,
    startedAt,
    clients: clients.size,
    jobs: service.registry.counts(),
    idleShutdownSeconds: opts.idleShutdownSeconds,
    workers: service.workerStatuses(),
  });
  const daemon = { id, status, stop: () => void stop() };

  /** Serves one client on a byte stream; `hangUp` closes that stream. */
  const accept = (reader: MessageReader, writer: MessageWriter, hangUp: () => void) => {
    const connection = createMessageConnection(reader, writer);
    clients.add(hangUp);
    lastActive = Date.now();
    const { closed } = serveConnection(connection, { version: opts.version, service, daemon, heartbeatTimeoutMs: opts.heartbeatTimeoutMs, hangUp, log: opts.log });
    void closed.then(() => {
      clients.delete(hangUp);
      lastActive = Date.now();
      hangUp();
    });
  };

  await fs.rm(sock, { force: true });
  const server = net.createServer((socket) => accept(new SocketMessageReader(socket), new SocketMessageWriter(socket), () => socket.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => resolve());
  });
  await fs.chmod(sock, 0o600);

  let ws: Awaited<ReturnType<typeof startWebSocketListener>> | undefined;
  try {
    ws = opts.websocket ? await startWebSocketListener(opts.websocket, accept, opts.log) : undefined;
  } catch (err) {
    server.close();
    await fs.rm(sock, { force: true });
    await fs.rm(pidFile(opts.stateDir), { force: true });
    throw new Error(`could not listen on ${opts.websocket!.url}: ${(err as Error).message}`);
  }

  const idle = setInterval(
    () => {
      if (opts.idleShutdownSeconds <= 0) return;
      if (clients.size || service.registry.busy) lastActive = Date.now();
      else if (Date.now() - lastActive > opts.idleShutdownSeconds * 1000) {
        opts.log(`no client and no job for ${opts.idleShutdownSeconds} s: stopping\n`);
        void stop();
      }
    },
    Math.min(5000, Math.max(200, (opts.idleShutdownSeconds * 1000) / 4)),
  );
  idle.unref();

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(idle);
      server.close();
      await ws?.close();
      // Clients first, so none reads the cancellations as its jobs' outcome; they find the jobs
      // unknown (or interrupted) at their next connection and submit them again.
      for (const hangUp of [...clients]) hangUp();
      await service.closeWorkers('the daemon stopped');
      service.registry.cancelAll();
      await Promise.race([service.registry.settled(), new Promise((r) => setTimeout(r, 10_000))]);
      await service.registry.flushed();
      await fs.rm(sock, { force: true });
      await fs.rm(pidFile(opts.stateDir), { force: true });
      resolveStopped();
    })();
    return stopping;
  };

  opts.log(`daemon ${id} (pid ${process.pid}, backend ${opts.version}) listening on ${sock}${ws ? ` and ${ws.url}` : ''}\n`);
  return { id, socket: sock, websocketUrl: ws?.url, stop, stopped };
}

/** One daemon per state folder: the pid file, taken over when its process is gone. */
async function takeLock(stateDir: string): Promise<void> {
  const file = pidFile(stateDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
    if (pid > 0 && pid !== process.pid && alive(pid)) throw new Error(`a backend daemon is already running for ${stateDir} (pid ${pid}); stop it with \`selfdev backend stop\``);
    await fs.rm(file, { force: true });
  }
  throw new Error(`could not take the daemon lock ${file}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
