// selfdev backend serve | status | stop: the backend daemon of a GPU machine, run and asked from a
// terminal there. serve runs it in the foreground (the daemon is out/backend.js --daemon).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describeWorker, describeWorkers } from '../core/format';
import { askDaemon } from '../backend/daemonControl';
import { defaultStateDir } from '../backend/daemonPaths';
import { EXIT, type Io } from './io';

const USAGE = `usage: selfdev backend serve [--state DIR] [--idle-minutes N] [--heartbeat-seconds N]
                             [--listen ws://127.0.0.1:PORT | wss://HOST:PORT --tls-cert PEM --tls-key PEM]
                             [--token-env VAR]
       selfdev backend status [--state DIR] [--json]
       selfdev backend stop [--state DIR]

serve runs the daemon that owns this machine's jobs; ssh clients reach it through its private
unix socket (DIR/daemon.sock; DIR defaults to $SELFDEV_BACKEND_STATE or ~/.selfdev/backend).
--listen adds a WebSocket listener: loopback by default, any other address only with TLS; clients
must send the token of $SELFDEV_BACKEND_TOKEN (or --token-env VAR) as "Authorization: Bearer".
It stops after --idle-minutes (default 30; 0: never) with no client and no job.`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function backendCommand(args: string[], io: Io, backendScript: string): Promise<number> {
  const [sub, ...rest] = args;
  const stateDir = path.resolve(option(rest, '--state') ?? defaultStateDir());
  switch (sub) {
    case 'serve': {
      const child = spawn(process.execPath, [backendScript, '--daemon', '--state', stateDir, ...rest.filter((a, i) => a !== '--state' && rest[i - 1] !== '--state')], { stdio: 'inherit' });
      const forward = (sig: NodeJS.Signals) => child.kill(sig);
      process.on('SIGINT', forward).on('SIGTERM', forward);
      const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? EXIT.failure)));
      process.off('SIGINT', forward).off('SIGTERM', forward);
      return code;
    }
    case 'status': {
      const a = await askDaemon(stateDir, 'status');
      if (rest.includes('--json')) io.out(JSON.stringify(a, null, 2));
      else if (!a.running) io.out(`no backend daemon is running for ${stateDir}`);
      else {
        const s = a.status;
        io.out(`backend daemon ${s.daemonId} on ${s.host}: pid ${s.pid}, backend ${s.backendVersion} (protocol ${s.protocolVersion}), since ${s.startedAt}`);
        io.out(`clients: ${s.clients}; jobs: ${s.jobs.running} running, ${s.jobs.finished} finished, ${s.jobs.failed} failed, ${s.jobs.cancelled} cancelled, ${s.jobs.interrupted} interrupted`);
        io.out(`state: ${s.stateDir}; idle shutdown: ${s.idleShutdownSeconds ? `after ${Math.round(s.idleShutdownSeconds / 60)} min` : 'never'}`);
        for (const p of s.workers ?? []) {
          io.out(`run ${p.run}: ${describeWorkers(p)}${p.ids.length ? ` (${p.launcher} ${p.ids.join(', ')})` : ''}`);
          if (p.state !== 'closed') for (const w of p.workers) io.out(`  worker ${describeWorker(w)}`);
        }
      }
      return a.running ? EXIT.ok : EXIT.unavailable;
    }
    case 'stop': {
      const a = await askDaemon(stateDir, 'stop');
      io.out(a.running ? `stopped the backend daemon (pid ${a.status.pid}); its running jobs are interrupted and resubmitted by their clients` : `no backend daemon is running for ${stateDir}`);
      return a.running ? EXIT.ok : EXIT.unavailable;
    }
    default:
      io.err(USAGE);
      return sub === 'help' || sub === '--help' ? EXIT.ok : EXIT.usage;
  }
}
