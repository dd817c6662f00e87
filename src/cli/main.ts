#!/usr/bin/env node
// The `selfdev` command: the same loop as the extension, for terminals, servers and CI.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { readCapabilities } from '../backend/capabilities';
import { backendCommand } from './backendCommand';
import { describeIsolation, probeIsolation, probePython, pythonProblems, type IsolationReport } from '../engine/pythonProbe';
import { findRunnerScript } from '../engine/runner';
import { applyCommand } from './applyCommand';
import { evaluateMerged } from './applyEvaluation';
import { evalCommand } from './evalCommand';
import { EXIT, type Io } from './io';
import { runCommand } from './runCommands';

declare const SELFDEV_VERSION: string; // injected by esbuild

const USAGE = `usage: selfdev <command> [options]

commands:
  doctor [--python PATH] [--json]   check this machine: onnxruntime, Python, numpy, torch, demo world
  demo [--factory llm|grammar]      create a run on the demo world and run 3 iterations (default:
                                    the demo's LLM factory; grammar: the built-in grammar factory)
  new <config> [--factory grammar|llm]
                                    create a run from a *.selfdev.json config
  iterate <run> [-n N]              run the next N iterations of a run
  status <run>                      show a run's progress and scores
  finalize <run>                    score the finalists on the sealed test split, once
  transfer <run> <algorithm...> --to <set>
  eval --benchmark <file|config> [--model <folder>] [--split dev|test] [--limit N] [--shots K] [--json]
                                    score a model on a benchmark
  apply <algorithm.py> --config <run config> [--benchmark FILE] [--set NAME=VALUE] [--json]
                                    apply one algorithm in the sandbox and score the merged model
  export model <run> <iteration/algorithm|best> --out <folder> [--max-shard-size 5GB]
                                    write a merged model as a Hugging Face checkpoint (config,
                                    tokenizer, safetensors weights, model card) on the backend's
                                    machine
  export bundle <run> --out <folder>
                                    the run's branch as a git bundle, with its report, to archive
                                    or share
  import <bundle file or folder>    open a run bundle: the run appears among the runs
  report <run> --out <folder>       write a run's report: Markdown and HTML with SVG and PNG figures,
                                    tables, the methods paragraph and the best algorithms' code
  backend serve|status|stop         run or ask the backend daemon of this (GPU) machine
  --version                         print the version

run options: --runs DIR (default .selfdev/runs of the repository), --python PATH (runs generated
code), --train-python PATH (Python with TRL and PEFT for the LLM factory's DPO; default
$SELFDEV_TRAIN_PYTHON, else the installation's .venv-llm), --json,
--backend local | ssh://[user@]host[:port] | ws://host:port | wss://host:port | unix:SOCKET
(default $SELFDEV_BACKEND, else local; a WebSocket's token comes from $SELFDEV_BACKEND_TOKEN,
--backend-cert PEM pins a self-signed certificate; for ssh: --ssh-config FILE, --remote-node
PATH, --remote-dir DIR; --python then names the interpreter on the backend's machine),
--launcher local | slurm:workers=N[,partition=P,gpusPerWorker=G,timeLimit=T,...] | JSON
(default $SELFDEV_LAUNCHER, else the config's "launcher"; with --sbatch-option=OPT repeated):
scoring spread over one Slurm job array of long-lived workers that connect back to the backend

Generated code runs in a kernel sandbox (bubblewrap namespaces, uid 65534, seccomp). Where the
machine has none, demo/iterate/finalize/transfer/apply refuse to run it unless given
--allow-unisolated (Python-level guards only; not recommended).`;

const RUN_COMMANDS = new Set(['demo', 'new', 'iterate', 'status', 'finalize', 'transfer', 'export', 'report', 'import']);

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function doctor(args: string[], io: Io): Promise<number> {
  const python = option(args, '--python') ?? process.env.SELFDEV_PYTHON ?? 'python3';
  const caps = readCapabilities(SELFDEV_VERSION);
  const demoConfig = path.resolve(__dirname, '..', 'resources', 'demo', 'demo.run.json');
  const problems: string[] = [];
  if ('error' in caps.onnxruntime) problems.push(caps.onnxruntime.error);
  let pythonReport;
  let isolation: IsolationReport | undefined;
  try {
    pythonReport = await probePython(python);
    problems.push(...pythonProblems(pythonReport));
    isolation = await probeIsolation(python, findRunnerScript());
    if (!isolation.available) {
      problems.push(`kernel isolation of generated code is not available: ${isolation.reason}. To fix: ${isolation.fix}. (Runs refuse generated code without it unless you pass --allow-unisolated.)`);
    }
  } catch (err) {
    problems.push((err as Error).message);
  }
  const demoWorld = existsSync(demoConfig);
  if (args.includes('--json')) {
    io.out(JSON.stringify({ backend: caps, python: pythonReport ?? null, isolation: isolation ?? null, demoWorld, problems }, null, 2));
  } else {
    const ort = 'error' in caps.onnxruntime ? 'not loadable' : `${caps.onnxruntime.version} (${caps.onnxruntime.executionProviders.join(', ')})`;
    io.out(`selfdev ${SELFDEV_VERSION} on Node ${caps.node}, ${caps.platform}-${caps.arch}, ${caps.cpus} CPUs, ${caps.memoryGiB} GiB`);
    io.out(`onnxruntime: ${ort}`);
    io.out(
      pythonReport
        ? `python: ${pythonReport.version} at ${pythonReport.executable}; numpy ${pythonReport.numpy ?? 'missing'}; torch ${pythonReport.torch ?? 'missing (optional)'}${pythonReport.cuda ? ' with CUDA' : ''}`
        : `python: not usable (${python})`,
    );
    if (isolation) io.out(`isolation of generated code: ${describeIsolation(isolation)}`);
    io.out(`demo world: ${demoWorld ? demoConfig : 'not built yet'}`);
    for (const p of problems) io.err(`problem: ${p}`);
    io.out(problems.length ? `${problems.length} problem(s) found.` : 'Ready.');
  }
  return problems.length ? EXIT.failure : EXIT.ok;
}

export async function main(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    (command ? io.out : io.err)(USAGE);
    return command ? EXIT.ok : EXIT.usage;
  }
  if (command === '--version') {
    io.out(SELFDEV_VERSION);
    return EXIT.ok;
  }
  if (command === 'doctor') return doctor(args, io);
  if (command === 'backend') return backendCommand(args, io, path.resolve(__dirname, 'backend.js'));
  if (command === 'eval') return evalCommand(args, io, signal);
  if (command === 'apply') return applyCommand(args, io, { evaluate: evaluateMerged });
  if (RUN_COMMANDS.has(command)) return runCommand(command, args, io, signal);
  io.err(`selfdev: unknown command "${command}"\n\n${USAGE}`);
  return EXIT.usage;
}

function terminalIo(): Io {
  const tty = process.stderr.isTTY;
  return {
    out: (s) => console.log(s),
    err: (s) => console.error(s),
    progress: tty ? (s) => process.stderr.write(`\r\x1b[K${s}`) : undefined,
  };
}

if (require.main === module) {
  // Ctrl-C cancels the running work cleanly; a second one exits at once.
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort();
    process.once('SIGINT', () => process.exit(EXIT.cancelled));
  });
  // The command's work is done when main settles: a handle something left open (a dead child's
  // pipe) must not keep the process waiting, so it exits at the latest a second later.
  const leave = (code: number) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 1000).unref();
  };
  main(process.argv.slice(2), terminalIo(), controller.signal).then(leave, (err: unknown) => {
    console.error(`selfdev: ${err instanceof Error ? err.message : String(err)}`);
    leave(EXIT.failure);
  });
}
