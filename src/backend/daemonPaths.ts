// Where a backend daemon keeps its things: one state folder per daemon (its socket, pid lock,
// journal, artifacts, job list and log); deployed bundles under its dist/.
import * as os from 'node:os';
import * as path from 'node:path';

/** The daemon's state folder: $SELFDEV_BACKEND_STATE, else ~/.selfdev/backend. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SELFDEV_BACKEND_STATE || path.join(os.homedir(), '.selfdev', 'backend');
}

export const socketPath = (stateDir: string) => path.join(stateDir, 'daemon.sock');
export const pidFile = (stateDir: string) => path.join(stateDir, 'daemon.pid');
export const daemonLog = (stateDir: string) => path.join(stateDir, 'daemon.log');
