// Scale-out without a scheduler: the processes launcher through a real daemon (the pool lives in
// the daemon, the client only opens and releases it), and the workers' door: the token in the
// Authorization header only, the listener's certificate pinned, the pool's id checked.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { askDaemon } from '../../src/backend/daemonControl';
import { connectSocket } from '../../src/backend/links/socketLink';
import { connectRemoteBackend } from '../../src/backend/remoteBackend';
import { WorkerHub } from '../../src/backend/workers/workerHub';
import type { LauncherSpec, ScoreParams, WorkerPoolStatus } from '../../src/protocol/backend';
import { WORKER_ENV } from '../../src/protocol/worker';
import { BACKEND_SCRIPT, startDaemonProcess } from '../harness/daemon';
import { scoreParamsFactory } from './support/daemonJobs';
import { until } from '../harness/until';

let job: (jobId: string, source?: string) => ScoreParams;
const cleanups: (() => unknown)[] = [];
before(async () => {
  job = await scoreParamsFactory();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const PROCESSES: LauncherSpec = { kind: 'processes', workers: 2, gpusPerWorker: 0, leaseSeconds: 5 };

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('scale-out through the daemon', () => {
  it('a client opens a run\'s workers on the daemon, its score jobs go to them, and releasing them ends the workers', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sd-w-'));
    const d = await startDaemonProcess(dir);
    cleanups.push(() => d.child.kill('SIGKILL'));
    const b = await connectRemoteBackend({ connect: () => connectSocket(d.socket), clientVersion: 'test', name: 'daemon' });
    cleanups.push(() => b.dispose());
    const seen: WorkerPoolStatus[] = [];
    const opened = await b.openWorkers({ run: 'pw', launcher: PROCESSES }, (s) => seen.push(s));
    assert.equal(opened.state, 'open');
    assert.equal(opened.workers.length, 2);
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((x) => b.score(job(`pw/dev/${x}`))));
    assert.ok(results.every((r) => r.status === 'ok'), JSON.stringify(results.map((r) => r.message)));
    const logDir = path.join(dir, 'workers', 'pw');
    const logs = readdirSync(logDir).map((f) => readFileSync(path.join(logDir, f), 'utf8')).join('\n');
    for (const x of ['a', 'b', 'c', 'd']) assert.equal([...logs.matchAll(new RegExp(`job pw/dev/${x} computing`, 'g'))].length, 1, `job ${x} computed once, by a worker`);
    const answer = await askDaemon(dir, 'status');
    assert.ok(answer.running);
    const pool = answer.status.workers?.find((w) => w.run === 'pw');
    assert.equal(pool?.finished, 4);
    assert.equal(pool?.state, 'open');
    const pids = pool!.workers.map((w) => w.pid).filter((p): p is number => p !== undefined);
    assert.ok(pids.length >= 1, 'workers said hello with their pids');
    await until('a status notification', () => seen.some((s) => s.finished === 4));

    const closed = await b.closeWorkers('pw', 'test over');
    assert.equal(closed?.state, 'closed');
    assert.equal(closed?.message, 'test over');
    await until('the workers to leave', () => pids.every((p) => !alive(p)));
    // A closed pool: the run's next job is scored by the daemon itself.
    const after = await b.score(job('pw/dev/e'));
    assert.equal(after.status, 'ok');
    assert.match(d.log(), /job pw\/dev\/e computing/);
  });
});

describe('scale-out across a daemon restart', () => {
  it('a client opens its run\'s pool again on a daemon that restarted, before its jobs are submitted again', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sd-wr-'));
    let d = await startDaemonProcess(dir);
    cleanups.push(() => d.child.kill('SIGKILL'));
    const b = await connectRemoteBackend({ connect: () => connectSocket(d.socket), clientVersion: 'test', name: 'daemon', heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1000, backoffMs: { initial: 100, max: 400 } });
    cleanups.push(() => b.dispose());
    await b.openWorkers({ run: 'pr', launcher: PROCESSES });
    const first = await b.score(job('pr/dev/a'));
    assert.equal(first.status, 'ok');
    // The daemon dies; a new one starts on the same state folder while the client reconnects.
    d.child.kill('SIGKILL');
    await d.exited;
    const pending = b.score(job('pr/dev/b'));
    d = await startDaemonProcess(dir);
    const second = await pending;
    assert.equal(second.status, 'ok');
    const answer = await askDaemon(dir, 'status');
    assert.ok(answer.running);
    const pool = answer.status.workers?.find((w) => w.run === 'pr');
    assert.equal(pool?.state, 'open', 'the new daemon has the run\'s pool');
    assert.equal(pool?.finished, 1, 'and its workers scored the job');
    assert.doesNotMatch(d.log(), /job pr\/dev\/b computing \(score\)[\s\S]*job pr\/dev\/b computing/, 'once');
    await b.closeWorkers('pr');
  });
});

describe('the workers\' door', () => {
  it('lets in a worker with the token, the pinned certificate and an open pool; refuses the others clearly', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sd-wd-'));
    const envFile = path.join(dir, 'env');
    const logs: string[] = [];
    // The launched "workers" only leave their environment for the test and wait.
    const hub = new WorkerHub({ stateDir: dir, command: ['sh', '-c', `env > ${envFile}.tmp.$${WORKER_ENV.index} && mv ${envFile}.tmp.$${WORKER_ENV.index} ${envFile}.$${WORKER_ENV.index}; exec sleep 60`], log: (t) => logs.push(t) });
    cleanups.push(() => hub.closeAll('test over'));
    await hub.open('door', { ...PROCESSES, workers: 1 });
    await until('the environment file', () => existsSync(`${envFile}.0`));
    const env = Object.fromEntries(
      readFileSync(`${envFile}.0`, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('SELFDEV_WORKER_'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    // A PEM spans lines: read it from the hub's own file instead.
    env[WORKER_ENV.certificate] = readFileSync(path.join(dir, 'worker-tls', 'worker-cert.pem'), 'utf8');
    assert.match(env[WORKER_ENV.url], /^wss:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(env[WORKER_ENV.token].length >= 32);

    const worker = (extra: Record<string, string>) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BACKEND_SCRIPT, '--worker'], { env: { PATH: process.env.PATH, ...env, [WORKER_ENV.index]: '0', ...extra }, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
        child.once('exit', (code) => resolve({ code, stderr }));
      });

    const wrongToken = await worker({ [WORKER_ENV.token]: 'x'.repeat(64) });
    assert.equal(wrongToken.code, 1);
    assert.match(wrongToken.stderr, /refused the token \(401\)/);

    const other = mkdtempSync(path.join(os.tmpdir(), 'sd-wd2-'));
    const otherHub = new WorkerHub({ stateDir: other, command: ['true'], log: () => undefined });
    cleanups.push(() => otherHub.closeAll('test over'));
    await otherHub.open('x', { ...PROCESSES, workers: 1 });
    const wrongPin = await worker({ [WORKER_ENV.certificate]: readFileSync(path.join(other, 'worker-tls', 'worker-cert.pem'), 'utf8') });
    assert.equal(wrongPin.code, 1);
    assert.match(wrongPin.stderr, /certificate/);

    const wrongPool = await worker({ [WORKER_ENV.pool]: 'not-a-pool' });
    assert.equal(wrongPool.code, 0, 'a worker of a pool that is gone leaves quietly');
    assert.match(wrongPool.stderr, /no open pool/);

    // The right one joins; the pool's close sends it home.
    const joined = worker({});
    await until('the worker to connect', () => hub.status('door')!.workers.some((w) => w.state === 'running'));
    await hub.close('door', 'test over');
    const ok = await joined;
    assert.equal(ok.code, 0);
    assert.match(ok.stderr, /the pool closed: leaving/);
    assert.ok(logs.some((l) => /refused a WebSocket client/.test(l)), 'the refusal is in the backend\'s log');
  });
});
