// The GPUs of the backend's machine, as nvidia-smi reports them ("NVIDIA H100 80GB HBM3, 81559 MiB"),
// for the capability report and the status bar. No nvidia-smi (no NVIDIA driver): none.
import { execFile } from 'node:child_process';

let cached: Promise<string[]> | undefined;

export function listGpus(command = 'nvidia-smi'): Promise<string[]> {
  cached ??= new Promise((resolve) => {
    execFile(command, ['--query-gpu=name,memory.total', '--format=csv,noheader'], { timeout: 5000, windowsHide: true }, (err, stdout) => {
      resolve(
        err
          ? []
          : stdout
              .split('\n')
              .map((l) => l.trim())
              .filter(Boolean),
      );
    });
  });
  return cached;
}
