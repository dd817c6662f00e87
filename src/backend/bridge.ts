// What an ssh client runs on the GPU machine (`backend.js --bridge`): its stdin and stdout joined
// to the daemon's private unix socket, starting the daemon first when none is running. No port
// is opened; the bridge ends when either side closes, and the daemon's jobs go on.
import { spawn } from 'node:child_process';
import { openSync, mkdirSync } from 'node:fs';
import * as net from 'node:net';
import { daemonLog, socketPath } from './daemonPaths';

function connect(sock: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(sock);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Connects to the daemon of `stateDir`, starting it (detached, logging to daemon.log) if needed. */
export async function connectOrStartDaemon(stateDir: string, backendScript: string, daemonArgs: string[] = [], waitMs = 20_000): Promise<net.Socket> {
  const sock = socketPath(stateDir);
  try {
    return await connect(sock);
  } catch {
    /* none running: start one */
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const log = openSync(daemonLog(stateDir), 'a', 0o600);
  const child = spawn(process.execPath, [backendScript, '--daemon', '--state', stateDir, ...daemonArgs], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  const deadline = Date.now() + waitMs;
  let exited: string | undefined;
  child.once('exit', (code) => (exited = `exit code ${code}`));
  for (;;) {
    try {
      return await connect(sock);
    } catch (err) {
      // Another bridge's daemon may have won the lock: its socket answers soon.
      if (Date.now() > deadline) throw new Error(`the backend daemon did not start (${exited ?? (err as Error).message}); see ${daemonLog(stateDir)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function runBridge(stateDir: string, backendScript: string, daemonArgs: string[]): Promise<void> {
  let socket: net.Socket;
  try {
    socket = await connectOrStartDaemon(stateDir, backendScript, daemonArgs);
  } catch (err) {
    process.stderr.write(`selfdev bridge: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stdin.pipe(socket);
  socket.pipe(process.stdout);
  process.stdin.on('end', () => socket.end());
  socket.on('close', () => process.exit(0));
  socket.on('error', () => process.exit(0));
  process.stdout.on('error', () => socket.destroy());
}
