// Remote backend benchmark (npm run bench): what the daemon and its link add to a job, measured
// side by side with the local backend (a stdio child) in one run, on the demo world:
//  - a demo candidate (apply with the sandboxed runner, then evaluate), alternately on the local
//    backend and on the daemon through ssh to a loopback sshd (a unix socket when there is no
//    sshd), each job with a fresh id;
//  - the round trip of a job the backend has already finished (its answer without work), which is
//    the link's and the protocol's own cost per job.
// Prints the ratio remote/local and the overhead per job as a share of a demo candidate's time
// (issue 16 asks for under 5%). Exits non-zero on errors only, never on slowness.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalBackend } from '../../src/backend/client';
import { askDaemon } from '../../src/backend/daemonControl';
import { bridgeCommand, deployBackend } from '../../src/backend/deploy';
import { connectSsh } from '../../src/backend/links/sshLink';
import { connectSocket } from '../../src/backend/links/socketLink';
import { connectRemoteBackend } from '../../src/backend/remoteBackend';
import type { Backend } from '../../src/protocol/backend';
import { startDaemonProcess } from '../harness/daemon';
import { repoRoot } from '../harness/paths';
import { sshdAvailable, startLoopbackSshd } from '../harness/sshd';
import { scoreParamsFactory } from '../unit/support/daemonJobs';
import { PYTHON } from '../unit/support/python';

const CANDIDATES = Number(process.env.BENCH_CANDIDATES ?? 8);
const ROUND_TRIPS = 200;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const job = await scoreParamsFactory();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'selfdev-bench-backend-'));
  const local = await startLocalBackend({ script: path.join(repoRoot, 'out', 'backend.js'), clientVersion: 'bench', journalDir: path.join(tmp, 'journal') });
  const stop: (() => unknown)[] = [() => local.dispose()];
  let remote: Backend;
  let how: string;
  if (sshdAvailable()) {
    const sshd = await startLoopbackSshd();
    stop.push(() => sshd.stop());
    const host = { destination: sshd.host, sshOptions: ['-F', sshd.config], node: process.execPath, python: PYTHON, dir: path.join(tmp, 'remote') };
    const report = await deployBackend(host, { root: repoRoot, version: 'bench' });
    remote = await connectRemoteBackend({ connect: () => connectSsh(host, bridgeCommand(host, report.installDir, report.stateDir)), clientVersion: 'bench', name: 'ssh' });
    stop.push(() => askDaemon(report.stateDir, 'stop'));
    how = 'daemon over ssh (loopback sshd)';
  } else {
    const d = await startDaemonProcess(path.join(tmp, 'state'));
    stop.push(() => d.child.kill());
    remote = await connectRemoteBackend({ connect: () => connectSocket(d.socket), clientVersion: 'bench', name: 'socket' });
    how = 'daemon over its unix socket (no sshd here)';
  }
  stop.unshift(() => remote.dispose());
  try {
    // Warm both (seed models load once per backend).
    await local.score(job('bench/warm/local'));
    await remote.score(job('bench/warm/remote'));

    const times = { local: [] as number[], remote: [] as number[] };
    for (let i = 0; i < CANDIDATES; i++) {
      for (const [name, b] of [['local', local], ['remote', remote]] as const) {
        const t0 = performance.now();
        const r = await b.score(job(`bench/${name}/${i}`));
        if (r.status !== 'ok') throw new Error(`${name} job ${i} failed: ${r.message}`);
        times[name].push(performance.now() - t0);
      }
    }
    const rt = { local: [] as number[], remote: [] as number[] };
    for (let i = 0; i < ROUND_TRIPS; i++) {
      for (const [name, b] of [['local', local], ['remote', remote]] as const) {
        const t0 = performance.now();
        await b.score(job(`bench/${name}/0`));
        rt[name].push(performance.now() - t0);
      }
    }
    const candidate = mean(times.local);
    const overhead = mean(times.remote) - candidate;
    const rtOverhead = median(rt.remote) - median(rt.local);
    console.log(`remote: ${how}; ${CANDIDATES} demo candidates each, alternating`);
    console.log(`demo candidate: local ${candidate.toFixed(0)} ms, remote ${mean(times.remote).toFixed(0)} ms (ratio remote/local ${(mean(times.remote) / candidate).toFixed(3)})`);
    console.log(`overhead per candidate: ${overhead.toFixed(1)} ms = ${((100 * overhead) / candidate).toFixed(2)}% of a demo candidate (target < 5%)`);
    console.log(`round trip of a finished job (median of ${ROUND_TRIPS}): local ${median(rt.local).toFixed(2)} ms, remote ${median(rt.remote).toFixed(2)} ms; the link adds ${rtOverhead.toFixed(2)} ms = ${((100 * rtOverhead) / candidate).toFixed(3)}% of a demo candidate`);
  } finally {
    for (const s of stop) await s();
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exitCode = 1;
});
