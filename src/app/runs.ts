// What the CLI and the extension both do with runs, in one place, so a new factory is added
// once: create a run from a config, open a run's loop with a backend (backends.ts opens those),
// the thread policy, the best-so-far figure.
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultLlmFactory, launcherInForce, readRunConfig, type FactoryConfig, type RunConfig } from '../core/config/runConfig';
import { RunLoop, runHeader, type LoopDeps } from '../core/loop/runLoop';
import { RUN_FILE } from '../core/run/layout';
import { RunFiles, type RunHeader } from '../core/run/runFiles';
import type { Run, RunStore } from '../core/store/runStore';
import type { Backend, LauncherSpec } from '../protocol/backend';

/** A new run's id: the config's name and the time, `name-YYYYMMDD-HHMMSS` (UTC). */
export function newRunId(name: string, now = new Date()): string {
  return `${name}-${now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
}

export interface CreatedRun {
  run: Run;
  config: RunConfig;
}

/** Reads and validates the config, then creates the run's branch and worktree with run.json.
 * `factory` replaces the config's factory kind: "grammar", or "llm" (the config's LLM settings,
 * else the paper's: the seed model writes, with the built-in 1-shot prompt). */
export async function createRun(store: RunStore, configFile: string, opts: { version: string; id?: string; shownAs?: string; factory?: 'grammar' | 'llm' | FactoryConfig; backend?: RunHeader['backend'] }): Promise<CreatedRun> {
  const config = withFactory(await readRunConfig(configFile), opts.factory);
  // Ids have one-second resolution: another run of the same config within that second gets -2, -3...
  const base = opts.id ?? newRunId(config.name);
  let id = base;
  for (let n = 2; !opts.id && (await store.taken(id)); n++) id = `${base}-${n}`;
  const header = runHeader(id, config, configFile, opts.version, opts.backend);
  const run = await store.create(id, { [RUN_FILE]: JSON.stringify(header, null, 1) + '\n' }, `create run ${id} from ${opts.shownAs ?? path.basename(configFile)}`);
  return { run, config };
}

export function withFactory(config: RunConfig, kind: 'grammar' | 'llm' | FactoryConfig | undefined): RunConfig {
  if (typeof kind === 'object') return { ...config, factory: kind };
  if (!kind || kind === config.factory.kind) return config;
  return { ...config, factory: kind === 'grammar' ? { kind: 'grammar' } : defaultLlmFactory() };
}

/** This installation's files: the backend script and the baseline algorithms. */
export interface Installation {
  /** The folder holding out/ and resources/. */
  root: string;
  version: string;
}

export const backendScript = (inst: Installation) => path.join(inst.root, 'out', 'backend.js');
export const algorithmsFolder = (inst: Installation) => path.join(inst.root, 'resources', 'algorithms');
export const promptsFolder = (inst: Installation) => path.join(inst.root, 'resources', 'prompts');
export const demoConfig = (inst: Installation) => path.join(inst.root, 'resources', 'demo', 'demo.run.json');

/** The environment variable through which the extension hands the backend the key it keeps in
 * VS Code's secret storage (the openai generator reads it when the config's apiKeyEnv is unset). */
export const STORED_KEY_ENV = 'SELFDEV_LLM_API_KEY';

/** The backend's journal lives beside the runs it scored, so a dropped connection loses nothing. */
export const journalDir = (runsDir: string) => path.join(runsDir, '.journal');
/** Refined generators (large, outside git) live beside the runs too, one folder per run. */
export const artifactsDir = (runsDir: string) => path.join(runsDir, '.artifacts');

/** Threads per scoring job: the user's explicit number, else the backend machine's cores shared
 * among the run's concurrent jobs (so they do not each ask for all of them). */
export function threadsPerJob(config: Pick<RunConfig, 'concurrency'>, explicit?: number, cpus = os.cpus().length, launcher?: LauncherSpec): number {
  if (explicit && explicit > 0) return explicit;
  // A worker runs one job at a time on the CPUs its task was given.
  if (launcher) return launcher.cpusPerWorker ?? (launcher.kind === 'processes' ? Math.max(1, Math.floor(cpus / launcher.workers)) : 1);
  return Math.max(1, Math.floor(cpus / Math.max(1, config.concurrency)));
}

export type OpenOptions = Omit<LoopDeps, 'backend' | 'algorithmsDir' | 'promptsDir' | 'threads'> & { threads?: number };

/** Opens a run's loop with a backend and this installation's baselines. */
export async function openLoop(run: Run, inst: Installation, backend: Backend | undefined, opts: OpenOptions): Promise<RunLoop> {
  const header = await new RunFiles(run).header();
  const threads = threadsPerJob(header.config, opts.threads, backend?.info.cpus, launcherInForce(header.config, opts.launcher));
  return RunLoop.open(run, { ...opts, backend, algorithmsDir: algorithmsFolder(inst), promptsDir: promptsFolder(inst), threads });
}

/** The best algorithm across a summary's iterations: its score and ref (2/a0007). */
export { bestSoFar } from '../core/loop/summary';
