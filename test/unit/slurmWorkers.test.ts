// Scale-out on a real single-node Slurm cluster (Debian's slurmctld, slurmd and munge, three fake
// GPUs, two CPUs): the loop's scoring goes to one job array of backend workers that connect back
// over TLS and claim jobs. An iteration gives the same scores as the local backend; workers killed
// by scancel and by SIGKILL mid-run lose nothing and score nothing twice; a cancelled run, and a
// daemon killed with its array open, leave nothing queued.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalBackend, type Backend } from '../../src/backend/client';
import { readRunConfig } from '../../src/core/config/runConfig';
import { LoopCancelled, RunLoop, runHeader, type LoopEvent } from '../../src/core/loop/runLoop';
import { resultsFile } from '../../src/core/run/layout';
import type { ScoredRecord } from '../../src/core/run/records';
import { RunStore } from '../../src/core/store/runStore';
import type { WorkerPoolStatus } from '../../src/protocol/backend';
import { connectSocket } from '../../src/backend/links/socketLink';
import { connectRemoteBackend } from '../../src/backend/remoteBackend';
import { startDaemonProcess } from '../harness/daemon';
import { repoRoot } from '../harness/paths';
import { writeDemoConfig } from '../harness/smallConfig';
import { startSlurmCluster, type SlurmCluster } from '../harness/slurm';
import { PYTHON } from './support/python';
import { until } from '../harness/until';

let cluster: SlurmCluster;
before(async () => {
  cluster = await startSlurmCluster(3);
});
after(async () => {
  await cluster?.stop();
});

const SECRET_ENV = 'OPENAI_API_KEY';

interface Run {
  dir: string;
  backend: Backend;
  loop: RunLoop;
  statuses: WorkerPoolStatus[];
  events: LoopEvent[];
  records(): ScoredRecord[];
  workerLogs(): string;
}

async function openRun(extra: Record<string, unknown>, signal?: AbortSignal): Promise<Run> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-slurm-run-'));
  const configFile = writeDemoConfig(path.join(dir, 'w.selfdev.json'), path.join(repoRoot, 'resources', 'demo'), { factory: { kind: 'grammar' }, iterations: 1, ...extra });
  const config = await readRunConfig(configFile);
  const store = await RunStore.open(path.join(dir, 'runs'));
  const run = await store.create('w', { 'run.json': JSON.stringify(runHeader('w', config, configFile, '0.0.0-test'), null, 1) + '\n' }, 'create run w');
  // The backend sees the cluster (SLURM_CONF) and a secret the workers must never get.
  const backend = await startLocalBackend({
    script: path.join(repoRoot, 'out', 'backend.js'),
    clientVersion: 'test',
    journalDir: path.join(dir, 'journal'),
    env: { ...cluster.env, [SECRET_ENV]: 'sk-never-on-a-worker' },
    onStderr: (t) => appendFileSync(path.join(dir, 'backend.log'), t),
  });
  const statuses: WorkerPoolStatus[] = [];
  const events: LoopEvent[] = [];
  const loop = await RunLoop.open(run, {
    backend,
    python: PYTHON,
    algorithmsDir: path.join(repoRoot, 'resources', 'algorithms'),
    threads: 1,
    signal,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'workers') statuses.push(e.status);
    },
  });
  return {
    dir,
    backend,
    loop,
    statuses,
    events,
    records: () =>
      readFileSync(path.join(run.dir, resultsFile(1)), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ScoredRecord),
    workerLogs: () => {
      const logDir = path.join(dir, '.workers', 'workers', 'w');
      return readdirSync(logDir)
        .map((f) => readFileSync(path.join(logDir, f), 'utf8'))
        .join('\n');
    },
  };
}

const squeue = (arrayId: string) => execFileSync('squeue', ['--noheader', '--array', `--jobs=${arrayId}`, '--format=%i|%T'], { env: cluster.env, encoding: 'utf8' }).trim();

/** How many times the workers computed each job. */
const computed = (logs: string) => {
  const n = new Map<string, number>();
  for (const m of logs.matchAll(/job (\S+) computing/g)) n.set(m[1], (n.get(m[1]) ?? 0) + 1);
  return n;
};

const SLURM = { kind: 'slurm', workers: 3, gpusPerWorker: 1, leaseSeconds: 4, timeLimit: '10' };

describe('scale-out on Slurm', () => {
  it('an iteration of the demo world completes through one job array with the same scores as the local backend', async () => {
    const viaSlurm = await openRun({ algorithmsPerIteration: 6, launcher: SLURM });
    const local = await openRun({ algorithmsPerIteration: 6 });
    try {
      await viaSlurm.loop.iterate(1);
      await local.loop.iterate(1);
      // In the order of ids (results are appended as they arrive).
      const byId = (x: ScoredRecord, y: ScoredRecord) => x.id.localeCompare(y.id);
      const a = viaSlurm.records().sort(byId);
      const b = local.records().sort(byId);
      assert.equal(a.length, 6);
      assert.deepEqual(
        a.map((r) => [r.id, r.status, r.score, r.items]),
        b.map((r) => [r.id, r.status, r.score, r.items]),
        'the same scores, item for item',
      );
      const arrays = new Set(viaSlurm.statuses.flatMap((s) => s.ids));
      assert.equal(arrays.size, 1, 'one job array for the iteration');
      const [arrayId] = arrays;
      assert.ok(viaSlurm.statuses.some((s) => s.workers.some((w) => w.state === 'running')), 'workers were seen running');
      const last = viaSlurm.statuses.at(-1)!;
      assert.equal(last.state, 'closed');
      assert.equal(last.message, 'the iteration ended');
      assert.equal(last.finished, computed(viaSlurm.workerLogs()).size, 'every job the pool finished was computed by a worker');
      for (const [job, n] of computed(viaSlurm.workerLogs())) assert.equal(n, 1, `${job} computed once`);
      await until('the array to leave the queue', () => squeue(arrayId) === '', 30_000);
      // The secret of the backend's environment never reached a worker.
      assert.doesNotMatch(viaSlurm.workerLogs(), /sk-never/);
    } finally {
      await viaSlurm.backend.dispose();
      await local.backend.dispose();
    }
  });

  it('workers killed mid-run by scancel and by SIGKILL lose nothing, and nothing is scored twice', async () => {
    const r = await openRun({ algorithmsPerIteration: 12, launcher: SLURM });
    const killed: { how: string; job: string }[] = [];
    let arrayId = '';
    try {
      const iteration = r.loop.iterate(1);
      // Two workers at work (two CPUs: the third task waits for one): kill both, two ways.
      await until('two workers holding jobs', () => (r.statuses.at(-1)?.workers.filter((w) => w.state === 'running' && w.current).length ?? 0) >= 2, 60_000);
      const s = r.statuses.at(-1)!;
      arrayId = s.ids[0];
      const [a, b] = s.workers.filter((w) => w.state === 'running' && w.current);
      // The worker's own environment: the token is there, the backend's secret is not.
      const environ = readFileSync(`/proc/${b.pid}/environ`, 'utf8').split('\0');
      assert.ok(!environ.some((e) => e.startsWith(`${SECRET_ENV}=`)), 'no API key in a worker\'s environment');
      execFileSync('scancel', [`${arrayId}_${a.index}`], { env: cluster.env });
      killed.push({ how: 'scancel', job: a.current! });
      process.kill(b.pid!, 'SIGKILL');
      killed.push({ how: 'SIGKILL', job: b.current! });
      await iteration;

      const records = r.records();
      assert.equal(records.length, 12);
      assert.equal(new Set(records.map((x) => x.id)).size, 12, 'one record per algorithm');
      assert.ok(records.every((x) => x.status === 'ok'), `every algorithm scored: ${records.filter((x) => x.status !== 'ok').map((x) => `${x.id} ${x.errorClass} ${x.detail}`).join('; ')}`);
      const last = r.statuses.at(-1)!;
      assert.ok(last.requeued >= 2, `the killed workers' jobs went back to the queue (${last.requeued})`);
      assert.ok(r.statuses.some((x) => x.workers.some((w) => w.state === 'lost')), 'the killed workers were shown lost');
      const counts = computed(r.workerLogs());
      assert.equal(last.finished, counts.size, 'each job\'s result recorded once');
      for (const [job, n] of counts) {
        const wasKilled = killed.some((k) => k.job === job);
        assert.ok(n === 1 || (n === 2 && wasKilled), `${job} computed ${n} time(s)${wasKilled ? ' (its worker was killed)' : ''}`);
      }
      for (const k of killed) assert.equal(counts.get(k.job), 2, `${k.how}: the job in hand was computed again by another worker`);
      await until('the array to leave the queue', () => squeue(arrayId) === '', 30_000);
    } finally {
      await r.backend.dispose();
    }
  });

  it('a daemon killed with its array open leaves nothing behind: the next one on its state folder cancels the array', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'sd-sl-'));
    const d = await startDaemonProcess(state, [], cluster.env);
    const b = await connectRemoteBackend({ connect: () => connectSocket(d.socket), clientVersion: 'test', name: 'daemon' });
    try {
      const opened = await b.openWorkers({ run: 'orphan', launcher: { kind: 'slurm', workers: 3, gpusPerWorker: 1, leaseSeconds: 30 } });
      const [arrayId] = opened.ids;
      assert.notEqual(squeue(arrayId), '');
      d.child.kill('SIGKILL');
      await d.exited;
      await b.dispose();
      assert.notEqual(squeue(arrayId), '', 'a crash cancels nothing by itself');
      const next = await startDaemonProcess(state, [], cluster.env);
      try {
        assert.match(next.log(), new RegExp(`cancelled the workers' array ${arrayId} that the backend left`));
        await until('the array to leave the queue', () => squeue(arrayId) === '', 30_000);
      } finally {
        next.child.kill('SIGKILL');
      }
    } finally {
      d.child.kill('SIGKILL');
    }
  });

  it('cancelling the run cancels the array: nothing is left queued', async () => {
    const ctl = new AbortController();
    const r = await openRun({ algorithmsPerIteration: 12, launcher: SLURM }, ctl.signal);
    try {
      const iteration = r.loop.iterate(1);
      await until('a first result', () => r.events.some((e) => e.type === 'scored'), 60_000);
      const arrayId = r.statuses.at(-1)!.ids[0];
      assert.notEqual(squeue(arrayId), '', 'the array is in the queue while the run scores');
      ctl.abort();
      await assert.rejects(iteration, LoopCancelled);
      const last = r.statuses.at(-1)!;
      assert.equal(last.state, 'closed');
      assert.equal(last.message, 'cancelled');
      assert.equal(last.queued, 0);
      await until('the array to leave the queue', () => squeue(arrayId) === '', 30_000);
      assert.ok(r.records().length < 12, 'the run stopped before scoring everything');
    } finally {
      await r.backend.dispose();
    }
  });
});
