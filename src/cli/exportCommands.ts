// selfdev export model | export bundle | import | report: taking a run's results out of the tool.
import * as path from 'node:path';
import type { RunLoop } from '../core/loop/runLoop';
import { pct } from '../core/format';
import { RunFiles } from '../core/run/runFiles';
import type { Run, RunStore } from '../core/store/runStore';
import { loadReportWriter } from '../app/report/loadReport';
import { exportRunBundle, importRunBundle } from '../app/runBundle';
import { EXIT, UsageError, type Io } from './io';

declare const SELFDEV_VERSION: string;

const MODEL_USAGE = 'usage: selfdev export model <run> <iteration/algorithm|best> --out <folder> [--max-shard-size 5GB]';
const BUNDLE_USAGE = 'usage: selfdev export bundle <run> --out <folder>';

/** "5GB", "500MB", "2.5GiB", "1000000" -> bytes (transformers' max_shard_size spelling). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`--max-shard-size: expected a size such as 5GB or 500MB, got "${text}"`);
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  const bytes = Math.floor(Number(m[1]) * units[(m[2] ?? 'b').toLowerCase()]);
  if (bytes < 1) throw new UsageError(`--max-shard-size: must be at least one byte, got "${text}"`);
  return bytes;
}

export interface TakeOut {
  store: RunStore;
  /** Positional arguments after the command ("model", run, ref / run / bundle). */
  positionals: string[];
  out?: string;
  maxShardSize?: string;
  json: boolean;
  /** The backend is another machine: an export's --out is a path there. */
  remoteBackend: boolean;
  io: Io;
  /** Runs `fn` with the run's loop on the backend (runCommands' withLoop). */
  withLoop<T>(run: Run, fn: (loop: RunLoop) => Promise<T>): Promise<T>;
}

export async function reportCommand(t: TakeOut): Promise<number> {
  if (!t.positionals[0] || !t.out) throw new UsageError('usage: selfdev report <run> --out <folder>');
  const run = await t.store.open(t.positionals[0]);
  const report = await loadReportWriter().writeReport(new RunFiles(run), await run.head(), t.out, SELFDEV_VERSION);
  if (report.pngProblem) t.io.err(`selfdev report: ${report.pngProblem}; the figures are SVG only`);
  if (t.json) t.io.out(JSON.stringify({ folder: report.folder, files: report.files, commit: report.data.commit }, null, 2));
  else t.io.out(`report of run ${run.id} (commit ${report.data.commit.slice(0, 12)}) in ${report.folder}: ${report.files.join(', ')}`);
  return EXIT.ok;
}

export async function importCommand(t: TakeOut): Promise<number> {
  if (!t.positionals[0]) throw new UsageError('usage: selfdev import <bundle file or folder>');
  const run = await importRunBundle(t.store, t.positionals[0]);
  t.io.out(`opened run ${run.id}: branch ${run.branch}, worktree ${run.dir}`);
  return EXIT.ok;
}

export async function exportCommand(t: TakeOut): Promise<number> {
  const [what, runId, ref] = t.positionals;
  if (what === 'bundle') {
    if (!runId || !t.out) throw new UsageError(BUNDLE_USAGE);
    const run = await t.store.open(runId);
    const b = await exportRunBundle(t.store, run, t.out, SELFDEV_VERSION);
    if (t.json) t.io.out(JSON.stringify(b, null, 2));
    else t.io.out(`bundle of run ${run.id} (commit ${b.commit.slice(0, 12)}, ${b.refs.length} refs) in ${b.folder}: ${path.basename(b.bundle)}, report/, README.md`);
    return EXIT.ok;
  }
  if (what !== 'model') throw new UsageError(`${MODEL_USAGE}\n       ${BUNDLE_USAGE}`);
  if (!runId || !ref || !t.out) throw new UsageError(MODEL_USAGE);
  // The folder is on the backend's machine (where the models are).
  if (t.remoteBackend && !path.isAbsolute(t.out)) throw new UsageError("--out names a folder on the backend's machine: give an absolute path");
  const out = t.remoteBackend ? t.out : path.resolve(t.out);
  const maxShardBytes = t.maxShardSize === undefined ? undefined : parseSize(t.maxShardSize);
  const run = await t.store.open(runId);
  const result = await t.withLoop(run, (loop) =>
    loop.exportModel(ref, {
      out,
      maxShardBytes,
      version: SELFDEV_VERSION,
      onProgress: (p) => t.io.progress?.(p.phase === 'apply' ? '  applying the algorithm in the sandbox' : `  writing weights ${(p.done / 1e6).toFixed(0)}/${(p.total / 1e6).toFixed(0)} MB`),
    }),
  );
  t.io.progress?.('');
  if (t.json) t.io.out(JSON.stringify(result, null, 2));
  if (result.status !== 'ok') {
    t.io.err(`selfdev export: ${result.provenance.ref}: ${result.message ?? 'failed'}${result.detail ? ` (${result.detail})` : ''}`);
    return EXIT.failure;
  }
  if (!t.json) {
    const p = result.provenance;
    t.io.out(`exported ${p.ref} of run ${run.id} to ${result.folder}`);
    t.io.out(`  ${result.weightFiles!.join(', ')}: ${result.tensors} tensors (${result.merged} merged), ${result.dtype}, ${(result.totalBytes! / 1e6).toFixed(1)} MB`);
    t.io.out(`  dev ${pct(p.dev.score)}${p.test ? ` · test ${pct(p.test.score)}` : ''} · from commit ${p.runCommit.slice(0, 12)} of ${run.branch}`);
  }
  return EXIT.ok;
}
