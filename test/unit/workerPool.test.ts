// The worker pool's rules, with a clock of its own and workers as plain objects: dynamic claiming,
// leases that run out, a result that arrives twice recorded once, cancel, close and the workers'
// states as a researcher sees them.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkerPool, type PoolWorker } from '../../src/backend/workers/workerPool';
import type { LauncherSpec, ScoreParams, ScoreResult } from '../../src/protocol/backend';
import type { ClaimResult } from '../../src/protocol/worker';
import type { LaunchedWorkers, WorkerTask } from '../../src/backend/launchers/launcher';

const SPEC: LauncherSpec = { kind: 'slurm', workers: 2, gpusPerWorker: 1, leaseSeconds: 10 };
const params = (jobId: string) => ({ jobId }) as ScoreParams;
const result = (jobId: string, accuracy = 0.5): ScoreResult => ({ jobId, status: 'ok', timings: {}, scores: [{ name: 'gsm', n: 2, correct: 1, accuracy, items: [true, false] }] });

function setup() {
  let now = 1_000_000;
  const pool = new WorkerPool('run1', SPEC, () => undefined, () => now);
  const launch = pool.newLaunch();
  let tasks: WorkerTask[] = [0, 1].map((index) => ({ index, state: 'running' as const }));
  const cancelled: (number | undefined)[] = [];
  const unit: LaunchedWorkers = { id: '77', workers: 2, tasks: async () => tasks, cancel: async (i) => void cancelled.push(i) };
  pool.launched(launch, unit);
  pool.tasksOf(launch, tasks);
  const told: string[] = [];
  const worker = (index: number): PoolWorker => ({ key: `${launch}/${index}`, launch, index, host: 'node1', pid: 100 + index, lastSeen: now, connected: true, jobsDone: 0, cancel: (lease) => told.push(`${index}:${lease}`) });
  return {
    pool,
    launch,
    worker,
    told,
    cancelled,
    tick: (ms: number) => (now += ms),
    setTasks: (t: WorkerTask[]) => {
      tasks = t;
      pool.tasksOf(launch, t);
    },
  };
}

const claimed = async (c: Promise<ClaimResult>) => {
  const r = await c;
  assert.ok('job' in r, 'a job was handed out');
  return r.job;
};

describe('the worker pool', () => {
  it('hands jobs out one claim at a time, in order, and settles each with its first result', async () => {
    const { pool, worker } = setup();
    const ctl = new AbortController();
    const done = ['a', 'b', 'c'].map((id) => pool.execute(params(`run1/dev/${id}`), ctl.signal, () => undefined));
    const w0 = worker(0);
    const w1 = worker(1);
    pool.hello(w0, []);
    pool.hello(w1, []);
    const j0 = await claimed(pool.claim(w0));
    const j1 = await claimed(pool.claim(w1));
    assert.deepEqual([j0.params.jobId, j1.params.jobId], ['run1/dev/a', 'run1/dev/b']);
    assert.equal(pool.status().queued, 1);
    assert.equal(pool.status().running, 2);
    assert.equal(pool.result(w1, j1.lease, { result: result('run1/dev/b', 0.75) }), true);
    // The faster worker takes the next job while the slow one still holds its first.
    const j2 = await claimed(pool.claim(w1));
    assert.equal(j2.params.jobId, 'run1/dev/c');
    assert.equal(pool.result(w0, j0.lease, { result: result('run1/dev/a') }), true);
    assert.equal(pool.result(w1, j2.lease, { result: result('run1/dev/c') }), true);
    const results = await Promise.all(done);
    assert.deepEqual(results.map((r) => r.jobId), ['run1/dev/a', 'run1/dev/b', 'run1/dev/c']);
    assert.equal(results[1].scores![0].accuracy, 0.75);
    const s = pool.status();
    assert.deepEqual([s.finished, s.queued, s.running, s.duplicates], [3, 0, 0, 0]);
    assert.deepEqual(s.workers.map((w) => [w.index, w.state, w.jobsDone]), [[0, 'running', 1], [1, 'running', 2]]);
  });

  it('gives a silent worker\'s job to another after the lease, and records a late duplicate once', async () => {
    const { pool, worker, tick, told } = setup();
    const done = pool.execute(params('run1/dev/a'), new AbortController().signal, () => undefined);
    const w0 = worker(0);
    const w1 = worker(1);
    pool.hello(w0, []);
    pool.hello(w1, []);
    const first = await claimed(pool.claim(w0));
    const second = pool.claim(w1);
    // w0 goes silent (a frozen node) while w1 keeps its heartbeat.
    tick(9_000);
    pool.seen(w1);
    pool.expire();
    assert.equal(pool.status().requeued, 0, 'not before the lease runs out');
    tick(2_000);
    pool.seen(w1);
    pool.expire();
    assert.equal(pool.status().requeued, 1);
    assert.deepEqual(told, [`0:${first.lease}`], 'the silent worker is told to drop it');
    const again = await claimed(second);
    assert.equal(again.params.jobId, 'run1/dev/a');
    assert.notEqual(again.lease, first.lease);
    assert.equal(pool.result(w1, again.lease, { result: result('run1/dev/a', 0.25) }), true);
    // The frozen worker thaws and delivers: counted, not recorded.
    assert.equal(pool.result(w0, first.lease, { result: result('run1/dev/a', 0.9) }), false);
    assert.equal((await done).scores![0].accuracy, 0.25);
    assert.equal(pool.status().duplicates, 1);
    assert.equal(pool.status().finished, 1);
  });

  it('takes back at once the job of a worker whose scheduler task ended, and says the worker is lost', async () => {
    const { pool, worker, setTasks } = setup();
    void pool.execute(params('run1/dev/a'), new AbortController().signal, () => undefined);
    const w0 = worker(0);
    pool.hello(w0, []);
    await claimed(pool.claim(w0));
    pool.disconnected(w0);
    setTasks([
      { index: 0, state: 'ended' },
      { index: 1, state: 'pending', reason: 'Resources' },
    ]);
    pool.expire();
    const s = pool.status();
    assert.deepEqual([s.requeued, s.queued, s.running], [1, 1, 0]);
    assert.deepEqual(s.workers.map((w) => [w.state, w.reason]), [['lost', undefined], ['pending', 'Resources']]);
    assert.equal(pool.stranded, false, 'one worker is still pending');
    setTasks([
      { index: 0, state: 'ended' },
      { index: 1, state: 'ended' },
    ]);
    assert.equal(pool.stranded, true, 'every worker gone with work left');
  });

  it('a worker back after a dropped link keeps the job it holds while its lease is valid', async () => {
    const { pool, worker, tick } = setup();
    const done = pool.execute(params('run1/dev/a'), new AbortController().signal, () => undefined);
    const w0 = worker(0);
    pool.hello(w0, []);
    const job = await claimed(pool.claim(w0));
    pool.disconnected(w0);
    tick(3_000);
    const back = { ...worker(0), lastSeen: 1_003_000 };
    assert.deepEqual(pool.hello(back, [{ jobId: 'run1/dev/a', lease: job.lease }]), []);
    tick(8_000);
    pool.seen(back);
    pool.expire();
    assert.equal(pool.status().requeued, 0);
    assert.equal(pool.result(back, job.lease, { result: result('run1/dev/a') }), true);
    await done;
    // A holder of a job settled meanwhile is told to drop it.
    assert.deepEqual(pool.hello({ ...worker(0) }, [{ jobId: 'run1/dev/a', lease: job.lease }]), ['run1/dev/a']);
  });

  it('cancelling a job takes it off the queue or tells its worker; closing fails what is left and stops waiting workers', async () => {
    const { pool, worker, told } = setup();
    const a = new AbortController();
    const b = new AbortController();
    const jobA = pool.execute(params('run1/dev/a'), a.signal, () => undefined);
    const jobB = pool.execute(params('run1/dev/b'), b.signal, () => undefined);
    const jobC = pool.execute(params('run1/dev/c'), new AbortController().signal, () => undefined);
    const w0 = worker(0);
    pool.hello(w0, []);
    const held = await claimed(pool.claim(w0));
    a.abort();
    await assert.rejects(jobA, /cancelled/);
    assert.deepEqual(told, [`0:${held.lease}`]);
    b.abort();
    await assert.rejects(jobB, /cancelled/);
    assert.equal(pool.status().queued, 1);
    const w1 = worker(1);
    pool.hello(w1, []);
    const next = await claimed(pool.claim(w1));
    assert.equal(next.params.jobId, 'run1/dev/c');
    const waiting = pool.claim(w0);
    const units = pool.close('the iteration ended');
    assert.equal(units.length, 1, 'the launcher\'s unit comes back to be cancelled');
    assert.deepEqual(await waiting, { done: true });
    await assert.rejects(jobC, /released before job run1\/dev\/c finished: the iteration ended/);
    assert.equal(pool.result(w1, next.lease, { result: result('run1/dev/c') }), false);
    const s = pool.status();
    assert.equal(s.state, 'closed');
    assert.ok(s.workers.every((w) => w.state === 'ended'));
    await assert.rejects(pool.execute(params('run1/dev/d'), new AbortController().signal, () => undefined), /were released/);
  });

  it('passes a worker\'s error on under its name (a setup problem is not retried)', async () => {
    const { pool, worker } = setup();
    const done = pool.execute(params('run1/dev/a'), new AbortController().signal, () => undefined);
    const w0 = worker(0);
    pool.hello(w0, []);
    const job = await claimed(pool.claim(w0));
    pool.result(w0, job.lease, { error: { message: 'no kernel isolation on node7', name: 'IsolationUnavailableError' } });
    await assert.rejects(done, (err: Error) => err.name === 'IsolationUnavailableError' && /node7/.test(err.message));
  });
});
