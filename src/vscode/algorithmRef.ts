// Which algorithm a command is about: a Runs tree node, {runId, iteration, id} (the results
// panel, tests), a file URI or path inside a run's worktree, or the algorithm open in the editor.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { algorithmFile } from '../core/run/layout';
import { ALGORITHM_ID_PATTERN, RUN_ID_PATTERN } from '../protocol/webviewMessages';

export interface AlgorithmRef {
  runId: string;
  iteration: number;
  id: string;
  /** Absolute path of its .py file. */
  file: string;
}

const fileOf = (runsDir: string, runId: string, iteration: number, id: string) => path.join(runsDir, runId, algorithmFile(iteration, id));

/** The algorithm a file in the runs folder is, if it is one (runs/<id>/iterations/NN/algorithms/aNNNN.py). */
export function refFromPath(file: string, runsDir: string): AlgorithmRef | undefined {
  const rel = path.relative(runsDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const parts = rel.split(path.sep);
  if (parts.length !== 5 || parts[1] !== 'iterations' || parts[3] !== 'algorithms' || !/^\d{2,}$/.test(parts[2])) return undefined;
  const id = parts[4].replace(/\.py$/, '');
  if (!RUN_ID_PATTERN.test(parts[0]) || !ALGORITHM_ID_PATTERN.test(id) || !parts[4].endsWith('.py')) return undefined;
  return { runId: parts[0], iteration: Number(parts[2]), id, file: path.resolve(file) };
}

export function parseAlgorithmRef(arg: unknown, runsDir: string): AlgorithmRef | undefined {
  if (arg instanceof vscode.Uri) return arg.scheme === 'file' ? refFromPath(arg.fsPath, runsDir) : undefined;
  if (typeof arg === 'string') return refFromPath(path.resolve(arg), runsDir);
  if (typeof arg !== 'object' || arg === null) return undefined;
  const o = arg as { kind?: string; run?: { id?: unknown }; iteration?: unknown; algorithm?: { id?: unknown }; runId?: unknown; id?: unknown };
  const runId = o.kind === 'algorithm' ? o.run?.id : o.runId;
  const id = o.kind === 'algorithm' ? o.algorithm?.id : o.id;
  const iteration = o.iteration;
  if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId) || typeof id !== 'string' || !ALGORITHM_ID_PATTERN.test(id)) return undefined;
  if (typeof iteration !== 'number' || !Number.isInteger(iteration) || iteration < 1) return undefined;
  return { runId, iteration, id, file: fileOf(runsDir, runId, iteration, id) };
}

/** The algorithm named by `arg`, else the one in the active editor; an error says how to pick one. */
export function requireAlgorithmRef(arg: unknown, runsDir: string): AlgorithmRef {
  const ref = parseAlgorithmRef(arg, runsDir) ?? (arg === undefined ? parseAlgorithmRef(vscode.window.activeTextEditor?.document.uri, runsDir) : undefined);
  if (!ref) {
    throw new Error(
      arg === undefined
        ? 'choose an algorithm in the Runs view, or open its .py file, first'
        : `not an algorithm of a run in ${runsDir}: ${typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : JSON.stringify(arg)?.slice(0, 120)}`,
    );
  }
  return ref;
}
