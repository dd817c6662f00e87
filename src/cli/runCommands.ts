// selfdev demo | new | iterate | status | finalize | transfer: the loop from a terminal (and the
// commands that take results out, exportCommands.ts).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeTarget, openBackend, parseBackendSpec, TOKEN_ENV, type BackendTarget } from '../app/backends';
import { createRun, demoConfig, openLoop } from '../app/runs';
import { LoopCancelled, type LoopEvent, type RunLoop, type RunSummary } from '../core/loop/runLoop';
import { describeRefining, describeWorker, describeWorkers, pct } from '../core/format';
import { PhaseClock } from '../core/loop/progress';
import { aboutLeft, describeLive } from '../protocol/webviewMessages';
import { parseLauncher } from '../core/config/runConfig';
import type { LauncherSpec } from '../protocol/backend';
import { summariseRun } from '../core/loop/summary';
import { exportCommand, importCommand, reportCommand, type TakeOut } from './exportCommands';
import { RunFiles } from '../core/run/runFiles';
import { RunStore, type Run } from '../core/store/runStore';
import { EXIT, UsageError, type Io } from './io';
import { formatSummary, formatTransfer } from './summaryText';

export { formatSummary } from './summaryText';

declare const SELFDEV_VERSION: string;

const INSTALLATION = { root: path.resolve(__dirname, '..'), version: SELFDEV_VERSION };

interface Common {
  runs: string;
  repo?: string;
  python: string;
  /** Python with TRL and PEFT for the LLM factory's DPO; the backend's default when unset. */
  trainPython?: string;
  json: boolean;
  /** --allow-unisolated: run generated code even where kernel isolation is missing. */
  allowUnisolated: boolean;
  /** --backend: where jobs run (local unless given). */
  backend: BackendTarget;
  /** --launcher: scale-out over the config's ("local": none). */
  launcher?: LauncherSpec | 'local';
}

/**
 * --launcher local | slurm:workers=4,partition=gpu,timeLimit=02:00:00 | a JSON object, with
 * --sbatch-option repeated for sbatch's own options; checked by the config's parser.
 */
export function launcherOption(value: string | undefined, sbatch: string[] = []): LauncherSpec | 'local' | undefined {
  if (value === undefined) {
    if (sbatch.length) throw new UsageError('--sbatch-option needs --launcher slurm:...');
    return undefined;
  }
  if (value.trim() === 'local') return 'local';
  let raw: Record<string, unknown>;
  if (value.trim().startsWith('{')) {
    try {
      raw = JSON.parse(value) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`--launcher: not JSON: ${(err as Error).message}`);
    }
  } else {
    const colon = value.indexOf(':');
    raw = { kind: colon < 0 ? value : value.slice(0, colon) };
    for (const pair of colon < 0 ? [] : value.slice(colon + 1).split(',').filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new UsageError(`--launcher: expected key=value, got "${pair}"`);
      const v = pair.slice(eq + 1);
      raw[pair.slice(0, eq)] = /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    }
  }
  if (sbatch.length) raw.sbatchOptions = [...((raw.sbatchOptions as string[] | undefined) ?? []), ...sbatch];
  try {
    return parseLauncher(raw, '--launcher', 'launcher') ?? 'local';
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function gitTopLevel(dir: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Runs live in --runs, $SELFDEV_RUNS, or .selfdev/runs of the current repository (or folder). */
function common(values: Record<string, unknown>): Common {
  const top = gitTopLevel(process.cwd());
  const runs = (values.runs as string | undefined) ?? process.env.SELFDEV_RUNS ?? path.join(top ?? process.cwd(), '.selfdev', 'runs');
  const python = (values.python as string | undefined) ?? process.env.SELFDEV_PYTHON ?? 'python3';
  let backend: BackendTarget;
  try {
    // --python names the interpreter on the backend's machine.
    backend = parseBackendSpec((values.backend as string | undefined) ?? process.env.SELFDEV_BACKEND ?? 'local', {
      sshConfig: values['ssh-config'] as string | undefined,
      remoteNode: values['remote-node'] as string | undefined,
      remotePython: python,
      remoteDir: values['remote-dir'] as string | undefined,
      token: process.env[TOKEN_ENV],
      pinnedCertificateFile: values['backend-cert'] as string | undefined,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const launcher = launcherOption((values.launcher as string | undefined) ?? process.env.SELFDEV_LAUNCHER, values['sbatch-option'] as string[] | undefined);
  return { runs: path.resolve(runs), repo: top, python, trainPython: values['train-python'] as string | undefined, json: Boolean(values.json), allowUnisolated: Boolean(values['allow-unisolated']), backend, launcher };
}

const OPTIONS = {
  runs: { type: 'string' },
  python: { type: 'string' },
  'train-python': { type: 'string' },
  json: { type: 'boolean', default: false },
  id: { type: 'string' },
  n: { type: 'string', short: 'n' },
  to: { type: 'string' },
  out: { type: 'string' },
  'max-shard-size': { type: 'string' },
  'allow-unisolated': { type: 'boolean', default: false },
  factory: { type: 'string' },
  backend: { type: 'string' },
  'ssh-config': { type: 'string' },
  'remote-node': { type: 'string' },
  'remote-dir': { type: 'string' },
  'backend-cert': { type: 'string' },
  launcher: { type: 'string' },
  'sbatch-option': { type: 'string', multiple: true },
} as const;

async function withLoop<T>(c: Common, run: Run, io: Io, signal: AbortSignal | undefined, fn: (loop: RunLoop) => Promise<T>): Promise<T> {
  const { backend, label, deploy } = await openBackend(INSTALLATION, c.runs, c.backend, {
    onProgress: (m) => io.err(`backend: ${m}`),
    onState: (state, detail) => io.err(`backend ${state}: ${detail}`),
  });
  if (deploy) for (const p of deploy.problems) io.err(`backend problem: ${p}`);
  if (label !== 'local') io.err(`backend: ${label} (${backend.info.host ?? ''} ${backend.info.platform}, ${backend.info.executionProviders.join(', ')}${backend.info.gpus?.length ? `; GPUs: ${backend.info.gpus.join('; ')}` : ''})`);
  try {
    const loop = await openLoop(run, INSTALLATION, backend, {
      python: c.python,
      trainPython: c.trainPython,
      allowUnisolated: c.allowUnisolated,
      launcher: c.launcher,
      signal,
      onEvent: progressPrinter(io),
      log: (line) => io.err(line),
    });
    return await fn(loop);
  } finally {
    await backend.dispose();
  }
}

/** The loop's progress on stderr: each phase in the loop's words (describeLive), then a live line
 * with counts and, on long phases, the time left (a line every 10 items where it cannot redraw). */
function progressPrinter(io: Io, now: () => number = () => Date.now()): (e: LoopEvent) => void {
  let lastPlain = 0;
  let lastRefining = '';
  let lastWorkers = '';
  const clock = new PhaseClock(now);
  let phase = '';
  const left = (iteration: number, done: number, total: number) => {
    const s = clock.update(phase, iteration, done, total);
    return s === undefined ? '' : ` · ${aboutLeft(s)}`;
  };
  return (e) => {
    if (e.type === 'workers') {
      // On change only: the pool reports every few seconds.
      const line = `  ${describeWorkers(e.status)}`;
      if (line === lastWorkers) return;
      lastWorkers = line;
      io.progress?.('');
      io.err(line);
      return;
    }
    if (e.type === 'phase') {
      io.progress?.('');
      phase = e.phase;
      clock.update(e.phase, e.iteration, undefined, e.total);
      io.err(`${describeLive({ iteration: e.iteration, phase: e.phase })}${e.total !== undefined ? ` (${e.total})` : ''}`);
    } else if (e.type === 'generating') {
      const line = `  generated ${e.done}/${e.total}${left(e.iteration, e.done, e.total)}`;
      if (io.progress) io.progress(line);
      else if (e.done === e.total) io.err(line);
    } else if (e.type === 'refining') {
      const line = `  ${describeRefining(e.progress)}`;
      if (io.progress) io.progress(line);
      else if (line !== lastRefining && (e.progress.phase !== 'train' || e.progress.step === e.progress.steps || e.progress.step % 10 === 0)) io.err(line);
      lastRefining = line;
    } else if (e.type === 'scored') {
      const r = e.record;
      const line = `  ${e.done}/${e.total} ${r.id}: ${r.status === 'ok' ? `dev ${pct(r.score)}` : `failed (${r.errorClass})`}${r.reusedFrom ? ` (same code as ${r.reusedFrom})` : ''}${left(e.iteration, e.done, e.total)}`;
      if (io.progress) io.progress(line);
      else if (e.done === e.total || e.done - lastPlain >= 10) {
        lastPlain = e.done;
        io.err(line);
      }
    }
  };
}

export async function runCommand(command: string, argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    io.err(`selfdev ${command}: ${(err as Error).message}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  let c: Common;
  try {
    c = common(values);
  } catch (err) {
    io.err(`selfdev ${command}: ${(err as Error).message}`);
    return EXIT.usage;
  }
  const printSummary = (summary: RunSummary, run: Run) => {
    io.progress?.('');
    if (c.json) io.out(JSON.stringify(summary, null, 2));
    else for (const l of formatSummary(summary, run)) io.out(l);
  };
  try {
    const store = await RunStore.open(c.runs, c.repo);
    const openRun = async () => {
      if (!positionals[0]) throw new UsageError(`usage: selfdev ${command} <run>${command === 'transfer' ? ' <iteration/algorithm...> --to <set>' : ''}`);
      return store.open(positionals[0]);
    };
    const factory = values.factory;
    if (factory !== undefined && factory !== 'grammar' && factory !== 'llm') throw new UsageError('--factory expects grammar or llm');
    const create = async (configFile: string) => {
      const created = await createRun(store, configFile, { version: SELFDEV_VERSION, id: values.id, factory, backend: describeTarget(c.backend) });
      io.err(`created run ${created.run.id}: branch ${created.run.branch}, worktree ${created.run.dir}`);
      return created;
    };
    switch (command) {
      case 'new': {
        if (!positionals[0]) throw new UsageError('usage: selfdev new <config.selfdev.json> [--id ID] [--factory grammar|llm]');
        const { run } = await create(positionals[0]);
        io.out(run.id);
        return EXIT.ok;
      }
      case 'demo': {
        const { run, config } = await create(demoConfig(INSTALLATION));
        const summary = await withLoop(c, run, io, signal, async (loop) => {
          await loop.iterate(config.iterations);
          return loop.finalize();
        });
        printSummary(summary, run);
        return EXIT.ok;
      }
      case 'iterate': {
        const run = await openRun();
        const n = values.n === undefined ? 1 : Number(values.n);
        if (!Number.isInteger(n) || n < 1) throw new UsageError('-n expects a whole number >= 1');
        const summary = await withLoop(c, run, io, signal, async (loop) => {
          await loop.iterate(n);
          return loop.summarise();
        });
        printSummary(summary, run);
        return EXIT.ok;
      }
      case 'status': {
        const run = await openRun();
        const files = new RunFiles(run); // reads only: never repairs a file another loop may be writing
        printSummary(await summariseRun(files, await files.header()), run);
        const workers = await files.workers();
        if (workers && !c.json) {
          io.out(`${describeWorkers(workers)} (as of ${workers.at}${workers.ids.length ? `; ${workers.launcher} ${workers.ids.join(', ')}` : ''})`);
          if (workers.state !== 'closed') for (const w of workers.workers) io.out(`  worker ${describeWorker(w)}`);
        }
        return EXIT.ok;
      }
      case 'finalize': {
        const run = await openRun();
        printSummary(await withLoop(c, run, io, signal, (loop) => loop.finalize()), run);
        return EXIT.ok;
      }
      case 'transfer': {
        const run = await openRun();
        const ids = positionals.slice(1);
        if (!ids.length || !values.to) throw new UsageError('usage: selfdev transfer <run> <iteration/algorithm...> --to <set>');
        const summary = await withLoop(c, run, io, signal, async (loop) => {
          await loop.transfer(ids, values.to!);
          return loop.summarise();
        });
        const result = summary.transfer.find((t) => t.set === values.to)!;
        if (c.json) io.out(JSON.stringify(result, null, 2));
        else for (const l of formatTransfer(result)) io.out(l);
        return EXIT.ok;
      }
      case 'report':
      case 'import':
      case 'export': {
        const takeOut: TakeOut = {
          store,
          positionals,
          out: values.out,
          maxShardSize: values['max-shard-size'],
          json: c.json,
          remoteBackend: c.backend.kind !== 'local',
          io,
          withLoop: (run, fn) => withLoop(c, run, io, signal, fn),
        };
        return await { report: reportCommand, import: importCommand, export: exportCommand }[command](takeOut);
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (err) {
    io.progress?.('');
    if (err instanceof UsageError) {
      io.err(`selfdev ${command}: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof LoopCancelled || signal?.aborted) {
      io.err(`selfdev ${command}: cancelled; run "selfdev iterate" on the run to continue where it stopped`);
      return EXIT.cancelled;
    }
    io.err(`selfdev ${command}: ${(err as Error).message}`);
    return EXIT.failure;
  }
}
