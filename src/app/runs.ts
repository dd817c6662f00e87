// What the CLI and the extension both do with runs, in one place, so a new transport or factory
// is added once: create a run from a config, start this installation's backend, open a run's
// loop with it, the thread policy, the best-so-far figure.
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalBackend } from '../backend/client';
import { readRunConfig, type RunConfig } from '../core/config/runConfig';
import { RunLoop, runHeader, type LoopDeps, type RunSummary } from '../core/loop/runLoop';
import { algorithmRef, RUN_FILE } from '../core/run/layout';
import { RunFiles } from '../core/run/runFiles';
import type { Run, RunStore } from '../core/store/runStore';
import type { Backend } from '../protocol/backend';

/** A new run's id: the config's name and the time, `name-YYYYMMDD-HHMMSS` (UTC). */
export function newRunId(name: string, now = new Date()): string {
  return `${name}-${now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
}

export interface CreatedRun {
  run: Run;
  config: RunConfig;
}

/** Reads and validates the config, then creates the run's branch and worktree with run.json. */
export async function createRun(store: RunStore, configFile: string, opts: { version: string; id?: string; shownAs?: string }): Promise<CreatedRun> {
  const config = await readRunConfig(configFile);
  const id = opts.id ?? newRunId(config.name);
  const header = runHeader(id, config, configFile, opts.version);
  const run = await store.create(id, { [RUN_FILE]: JSON.stringify(header, null, 1) + '\n' }, `create run ${id} from ${opts.shownAs ?? path.basename(configFile)}`);
  return { run, config };
}

/** This installation's files: the backend script and the baseline algorithms. */
export interface Installation {
  /** The folder holding out/ and resources/. */
  root: string;
  version: string;
}

export const backendScript = (inst: Installation) => path.join(inst.root, 'out', 'backend.js');
export const algorithmsFolder = (inst: Installation) => path.join(inst.root, 'resources', 'algorithms');
export const demoConfig = (inst: Installation) => path.join(inst.root, 'resources', 'demo', 'demo.run.json');

/** The backend's journal lives beside the runs it scored, so a dropped connection loses nothing. */
export const journalDir = (runsDir: string) => path.join(runsDir, '.journal');

/** Starts this installation's local backend process. */
export function startBackend(inst: Installation, runsDir: string, onStderr?: (text: string) => void): Promise<Backend> {
  return startLocalBackend({ script: backendScript(inst), clientVersion: inst.version, journalDir: journalDir(runsDir), onStderr });
}

/** Threads per scoring job: the user's explicit number, else the machine's cores shared among the
 * run's concurrent jobs (so they do not each ask for all of them). */
export function threadsPerJob(config: Pick<RunConfig, 'concurrency'>, explicit?: number): number {
  return explicit && explicit > 0 ? explicit : Math.max(1, Math.floor(os.cpus().length / Math.max(1, config.concurrency)));
}

export type OpenOptions = Omit<LoopDeps, 'backend' | 'algorithmsDir' | 'threads'> & { threads?: number };

/** Opens a run's loop with a backend and this installation's baselines. */
export async function openLoop(run: Run, inst: Installation, backend: Backend | undefined, opts: OpenOptions): Promise<RunLoop> {
  const header = await new RunFiles(run).header();
  return RunLoop.open(run, { ...opts, backend, algorithmsDir: algorithmsFolder(inst), threads: threadsPerJob(header.config, opts.threads) });
}

/** The best algorithm across a summary's iterations: its score and ref (2/a0007). */
export function bestSoFar(summary: RunSummary): { score: number; ref: string } | undefined {
  let best: { score: number; ref: string } | undefined;
  for (const it of summary.iterations) if (it.best && (!best || it.best.score > best.score)) best = { score: it.best.score, ref: algorithmRef(it.iteration, it.best.id) };
  return best;
}
