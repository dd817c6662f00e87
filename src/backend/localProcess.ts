import { execFile } from 'node:child_process';
import type { BackendCapabilities } from './capabilities';

/**
 * Asks the backend entry (out/backend.js) of this installation what it can do, in a child
 * process, so a native module that fails to load cannot take the caller down.
 * `nodePath` is process.execPath; inside VS Code that is Electron, hence ELECTRON_RUN_AS_NODE.
 */
export function queryBackendCapabilities(backendScript: string, nodePath = process.execPath, timeoutMs = 30_000): Promise<BackendCapabilities> {
  return new Promise((resolve, reject) => {
    execFile(
      nodePath,
      [backendScript, '--capabilities'],
      { timeout: timeoutMs, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, windowsHide: true },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`The local backend did not start: ${stderr.trim() || err.message}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout) as BackendCapabilities);
        } catch {
          reject(new Error(`The local backend answered something unexpected: ${stdout.slice(0, 200)}`));
        }
      },
    );
  });
}
