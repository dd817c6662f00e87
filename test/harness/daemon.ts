// A real backend daemon process (out/backend.js --daemon) in a temporary state folder, for the
// tests of the remote backend: started, waited for, killed with real signals, restarted.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './paths';

export const BACKEND_SCRIPT = path.join(repoRoot, 'out', 'backend.js');

export interface DaemonProcess {
  child: ChildProcess;
  pid: number;
  daemonId: string;
  socket: string;
  websocketUrl?: string;
  /** What the daemon wrote to stderr so far. */
  log(): string;
  exited: Promise<number | null>;
}

/** Starts a daemon on `stateDir` and waits for its readiness line; rejects with its stderr if it exits first. */
export function startDaemonProcess(stateDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [BACKEND_SCRIPT, '--daemon', '--state', stateDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      const ready = JSON.parse(line) as { pid: number; daemonId: string; socket: string; websocketUrl?: string };
      resolve({ child, ...ready, log: () => stderr, exited });
    });
    void exited.then((code) => reject(new Error(`the daemon exited (${code}) before it was ready: ${stderr}`)));
  });
}

/** How many times the daemon computed each job (journal answers are not counted). */
export function computedJobs(log: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of log.matchAll(/job (\S+) computing/g)) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  return counts;
}

export const daemonLogFile = (stateDir: string) => readFileSync(path.join(stateDir, 'daemon.log'), 'utf8');
