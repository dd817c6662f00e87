// Entry of the backend process. --stdio: serve one client over stdin/stdout (the local backend).
// --daemon: the long-lived daemon of a GPU machine. --bridge: join stdio to the daemon (what ssh
// runs). --worker: a scale-out worker a launcher started (Slurm). --daemon-status / --daemon-stop:
// ask the running daemon. --capabilities, --version.
import { readCapabilities } from './capabilities';
import { runBridge } from './bridge';
import { DEFAULT_HEARTBEAT_TIMEOUT_MS, DEFAULT_IDLE_SHUTDOWN_SECONDS, startDaemon } from './daemon';
import { defaultStateDir } from './daemonPaths';
import { askDaemon } from './daemonControl';
import { serve } from './server';
import { runWorker } from './workers/worker';

declare const SELFDEV_VERSION: string; // injected by esbuild

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}

function numberOption(argv: string[], name: string, fallback: number): number {
  const v = option(argv, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number >= 0, got ${v}`);
  return n;
}

async function daemon(argv: string[], stateDir: string): Promise<number> {
  const listen = option(argv, '--listen');
  const tokenEnv = option(argv, '--token-env') ?? 'SELFDEV_BACKEND_TOKEN';
  const log = (text: string) => process.stderr.write(`${new Date().toISOString()} ${text}`);
  const d = await startDaemon({
    stateDir,
    version: SELFDEV_VERSION,
    idleShutdownSeconds: numberOption(argv, '--idle-minutes', DEFAULT_IDLE_SHUTDOWN_SECONDS / 60) * 60,
    heartbeatTimeoutMs: numberOption(argv, '--heartbeat-seconds', DEFAULT_HEARTBEAT_TIMEOUT_MS / 1000) * 1000,
    websocket: listen ? { url: listen, token: process.env[tokenEnv] ?? '', tlsCert: option(argv, '--tls-cert'), tlsKey: option(argv, '--tls-key') } : undefined,
    log,
  });
  // Readiness for whoever started us (tests, `selfdev backend serve`): one line on stdout.
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, daemonId: d.id, socket: d.socket, websocketUrl: d.websocketUrl })}\n`);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, () => void d.stop());
  await d.stopped;
  // Native sessions may hold threads: the daemon is done, so is the process.
  process.exit(0);
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--version')) {
    process.stdout.write(`${SELFDEV_VERSION}\n`);
    return 0;
  }
  if (argv.includes('--capabilities')) {
    process.stdout.write(JSON.stringify(readCapabilities(SELFDEV_VERSION)));
    return 0;
  }
  if (argv.includes('--stdio')) {
    // The working directory may change while sessions load (see engine/inference/session.ts);
    // everything the backend receives is an absolute path.
    // stdout carries the protocol: anything else printed goes to stderr.
    console.log = console.info = (...args: unknown[]) => console.error(...args);
    serve(process.stdin, process.stdout, SELFDEV_VERSION);
    return 0;
  }
  if (argv.includes('--worker')) {
    console.log = console.info = (...args: unknown[]) => console.error(...args);
    const code = await runWorker();
    // Native sessions may hold threads.
    process.exit(code);
  }
  const stateDir = option(argv, '--state') ?? defaultStateDir();
  if (argv.includes('--daemon')) {
    console.log = console.info = (...args: unknown[]) => console.error(...args);
    return daemon(argv, stateDir);
  }
  if (argv.includes('--bridge')) {
    await runBridge(stateDir, __filename, argv.includes('--idle-minutes') ? ['--idle-minutes', option(argv, '--idle-minutes')!] : []);
    return 0;
  }
  if (argv.includes('--daemon-status') || argv.includes('--daemon-stop')) {
    const answer = await askDaemon(stateDir, argv.includes('--daemon-stop') ? 'stop' : 'status');
    process.stdout.write(`${JSON.stringify(answer)}\n`);
    return answer.running ? 0 : 3;
  }
  process.stderr.write('usage: backend.js --stdio | --daemon [--state DIR] [--idle-minutes N] [--listen URL --token-env VAR [--tls-cert F --tls-key F]] | --bridge [--state DIR] | --worker (started by a launcher) | --daemon-status | --daemon-stop | --capabilities | --version\n');
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`selfdev backend: ${err.message}\n`);
    process.exit(1);
  },
);
