// Scale-out benchmark (npm run bench): demo candidates per hour through one Slurm job array of
// 1, 2 and 3 workers, measured in one run beside one local backend on the same jobs, on a
// single-node cluster of Debian's Slurm (as root; skipped, saying so, where it cannot start).
// This machine has two cores, so three workers share two CPUs: the speed-up is bounded by the
// cores, and the table says so. Printed per setup: wall time, candidates per hour, the ratio to
// one local backend, the workers' start-up (sbatch to the first claim) and, for one worker, the
// pool's own cost per candidate (claim, lease, result over TLS), as a share of a candidate.
// Exits non-zero on errors only, never on slowness.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalBackend, type Backend } from '../../src/backend/client';
import type { ScoreParams, WorkerPoolStatus } from '../../src/protocol/backend';
import { repoRoot } from '../harness/paths';
import { startSlurmCluster, type SlurmCluster } from '../harness/slurm';
import { scoreParamsFactory } from '../unit/support/daemonJobs';

const N = Number(process.env.BENCH_SCALE_CANDIDATES ?? 12);

/** N distinct candidates (each a different weighting, so nothing is answered twice). */
const sources = Array.from({ length: N }, (_, i) => `def merge(task_vectors, name):\n    w = ${(0.5 + i / (4 * N)).toFixed(4)}\n    return w * sum(task_vectors) / len(task_vectors)\n`);

async function pool<T>(items: T[], size: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function backendFor(tmp: string, name: string, env: NodeJS.ProcessEnv): Promise<Backend> {
  return startLocalBackend({ script: path.join(repoRoot, 'out', 'backend.js'), clientVersion: 'bench', journalDir: path.join(tmp, name, 'journal'), env });
}

/** The wall time, and per job the time around the work: the client's wait less the job's own
 * total (transport, queueing and, for workers, claim and result). */
async function scoreAll(b: Backend, job: (id: string, source?: string) => ScoreParams, run: string, concurrency: number): Promise<{ wall: number; around: number[] }> {
  const t0 = performance.now();
  const around: number[] = [];
  await pool(sources.map((s, i) => [s, i] as const), concurrency, async ([s, i]) => {
    const started = performance.now();
    const r = await b.score(job(`${run}/dev/${i}`, s));
    if (r.status !== 'ok') throw new Error(`${run}/${i}: ${r.errorClass} ${r.message} ${r.detail ?? ''}`);
    around.push((performance.now() - started) / 1000 - (r.timings.total ?? 0));
  });
  return { wall: (performance.now() - t0) / 1000, around };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  let cluster: SlurmCluster;
  try {
    cluster = await startSlurmCluster(3);
  } catch (err) {
    console.log(`skipped: no single-node Slurm cluster here (${(err as Error).message})`);
    return;
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'selfdev-bench-scale-'));
  const job = await scoreParamsFactory();
  const rows: { setup: string; wall: number; around: number[]; startup?: number; connected?: number }[] = [];
  const overhead = { local: [] as number[], worker: [] as number[] };
  try {
    for (const concurrency of [1, 2]) {
      const b = await backendFor(tmp, `local${concurrency}`, cluster.env);
      try {
        await b.score(job(`warm${concurrency}/dev/warm`));
        rows.push({ setup: `local backend, ${concurrency} job(s) at once`, ...(await scoreAll(b, job, `local${concurrency}`, concurrency)) });
        if (concurrency === 1) overhead.local = (await scoreAll(b, job, 'again-local', 1)).around;
      } finally {
        await b.dispose();
      }
    }
    for (const workers of [1, 2, 3]) {
      const b = await backendFor(tmp, `slurm${workers}`, cluster.env);
      try {
        const run = `slurm${workers}`;
        let firstRunning: number | undefined;
        const t0 = performance.now();
        const onStatus = (s: WorkerPoolStatus) => {
          if (firstRunning === undefined && s.workers.some((w) => w.state === 'running')) firstRunning = performance.now();
        };
        await b.openWorkers({ run, launcher: { kind: 'slurm', workers, gpusPerWorker: 1, leaseSeconds: 60 } }, onStatus);
        // Warm as the local backend was: one job per worker loads the models (start-up is reported apart).
        await Promise.all(Array.from({ length: workers }, (_, w) => b.score(job(`${run}/warm/${w}`))));
        const startup = (performance.now() - t0) / 1000;
        const { wall, around } = await scoreAll(b, job, run, 2 * workers);
        rows.push({ setup: `Slurm array, ${workers} worker(s)`, wall, around, startup, connected: firstRunning === undefined ? undefined : (firstRunning - t0) / 1000 });
        if (workers === 1) overhead.worker = (await scoreAll(b, job, 'again-slurm', 1)).around;
        await b.closeWorkers(run, 'bench over');
      } finally {
        await b.dispose();
      }
    }
  } finally {
    await cluster.stop();
  }

  const local = rows[0].wall;
  console.log(`${N} demo candidates each (apply in the sandbox + evaluate), ${os.cpus().length} CPU(s), every backend and worker warmed by one job first;`);
  console.log('start-up: sbatch to the workers connected, and to their warm-up jobs done (models loaded), paid once per iteration');
  console.log(`${'setup'.padEnd(34)} ${'wall s'.padStart(7)} ${'cand/h'.padStart(7)} ${'x local'.padStart(8)} ${'start-up s'.padStart(16)}`);
  for (const r of rows) {
    const up = r.startup === undefined ? '-' : `${r.connected?.toFixed(1) ?? '-'} / ${r.startup.toFixed(1)}`;
    console.log(`${r.setup.padEnd(34)} ${r.wall.toFixed(1).padStart(7)} ${Math.round((N / r.wall) * 3600).toString().padStart(7)} ${(local / r.wall).toFixed(2).padStart(8)} ${up.padStart(16)}`);
  }
  // One job in flight: the time around each job, the local backend's stdio round trip against the
  // worker path's submit, queue, claim and result over TLS. The difference is the pool's own cost.
  const perCandidate = local / N;
  const cost = median(overhead.worker) - median(overhead.local);
  console.log(
    `scheduling overhead per candidate (one job in flight, median of ${overhead.worker.length}): ${(median(overhead.worker) * 1000).toFixed(0)} ms around the work through a worker, ${(median(overhead.local) * 1000).toFixed(0)} ms on the local backend: ${(cost * 1000).toFixed(0)} ms = ${((100 * cost) / perCandidate).toFixed(1)}% of a candidate (${perCandidate.toFixed(2)} s)`,
  );
  console.log(`bound: ${os.cpus().length} CPU(s) here, so at most ${os.cpus().length}x whatever the number of workers; on a cluster each worker has its own GPU`);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exitCode = 1;
});
