import { execFile } from 'node:child_process';

/** What a Python interpreter offers for running merge algorithms. */
export interface PythonReport {
  interpreter: string;
  executable: string;
  version: string;
  numpy: string | null;
  torch: string | null;
  cuda: boolean;
}

// Imports are tried one by one so a broken torch does not hide a working numpy.
export const PYTHON_PROBE = `
import json, sys, importlib
def version(name):
    try:
        return importlib.import_module(name).__version__
    except Exception:
        return None
torch = version("torch")
cuda = False
if torch:
    try:
        import torch as t
        cuda = bool(t.cuda.is_available())
    except Exception:
        pass
print(json.dumps({"executable": sys.executable, "version": sys.version.split()[0],
                  "numpy": version("numpy"), "torch": torch, "cuda": cuda}))
`;

const MIN_PYTHON: [number, number] = [3, 9];

/** Runs the interpreter once and reports its version and the tensor libraries it has. */
export function probePython(interpreter: string, timeoutMs = 30_000): Promise<PythonReport> {
  return new Promise((resolve, reject) => {
    execFile(interpreter, ['-c', PYTHON_PROBE], { timeout: timeoutMs, windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'no such program' : (stderr.trim().split('\n').pop() ?? err.message);
        reject(new Error(`Python interpreter "${interpreter}" cannot be run: ${why}`));
        return;
      }
      try {
        const parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Omit<PythonReport, 'interpreter'>;
        resolve({ interpreter, ...parsed });
      } catch {
        reject(new Error(`Python interpreter "${interpreter}" gave an unexpected answer: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

/** Problems that stop the interpreter from running algorithms; empty when it is usable. */
export function pythonProblems(report: PythonReport, tensorLibrary: 'numpy' | 'torch' = 'numpy'): string[] {
  const problems: string[] = [];
  const [major, minor] = report.version.split('.').map(Number);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    problems.push(`Python ${report.version} is too old: ${MIN_PYTHON.join('.')} or newer is needed.`);
  }
  if (!report.numpy) problems.push(`numpy is missing: install it with "${report.interpreter} -m pip install numpy".`);
  if (tensorLibrary === 'torch' && !report.torch) {
    problems.push(`torch is missing but the run asks for torch tensors: install it with "${report.interpreter} -m pip install torch".`);
  }
  return problems;
}

/** Whether the runner can isolate generated code on this machine (resources/python, `--probe`). */
export interface IsolationReport {
  available: boolean;
  method: string;
  /** The runner runs as root: bubblewrap's privileged mode, then uid 65534. */
  privileged?: boolean;
  bwrap?: string;
  bwrapVersion?: string;
  /** Why not, and how to fix it, when not available. */
  reason?: string;
  fix?: string;
}

/** Starts one trial sandbox with the interpreter's runner and reports whether it held. */
export function probeIsolation(interpreter: string, runnerScript: string, timeoutMs = 60_000): Promise<IsolationReport> {
  return new Promise((resolve) => {
    execFile(interpreter, ['-s', '-B', runnerScript, '--probe'], { timeout: timeoutMs, windowsHide: true }, (err, stdout, stderr) => {
      try {
        const parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '') as IsolationReport;
        if (typeof parsed.available === 'boolean') return resolve(parsed);
      } catch {
        /* reported below */
      }
      const why = err ? (stderr.trim().split('\n').pop() ?? err.message) : `unexpected answer: ${stdout.slice(0, 200)}`;
      resolve({ available: false, method: 'bubblewrap', reason: `the runner's isolation check failed: ${why}`, fix: 'check the Python interpreter (selfdev doctor)' });
    });
  });
}

/** One line for people: which isolation generated code gets here. */
export function describeIsolation(r: IsolationReport): string {
  if (r.available) return `kernel (bubblewrap ${r.bwrapVersion ?? ''} namespaces, uid 65534, seccomp${r.privileged ? '; as root: privileged mode, then uid 65534' : ''})`.replace('  ', ' ');
  return `NOT AVAILABLE: ${r.reason ?? 'unknown reason'}`;
}

const executables = new Map<string, Promise<string>>();

/**
 * The interpreter's own executable (sys.executable), asked once per name and process: a pyenv
 * shim or a `python3` on PATH then costs its look-up once, not at every job (a shim adds about
 * 90 ms to each start). A virtual environment's python stays itself, so its packages are found.
 * Falls back to the name as given when it cannot be asked (the runner then says what is wrong).
 */
export function interpreterExecutable(interpreter: string): Promise<string> {
  let p = executables.get(interpreter);
  if (!p) {
    p = new Promise((resolve) => {
      execFile(interpreter, ['-s', '-c', 'import sys; print(sys.executable)'], { timeout: 30_000, windowsHide: true }, (err, stdout) => {
        const exe = stdout?.trim();
        resolve(!err && exe ? exe : interpreter);
      });
    });
    executables.set(interpreter, p);
  }
  return p;
}
