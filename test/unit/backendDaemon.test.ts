// The backend daemon as a real process on a unix socket, and the remote client against it: the
// version handshake, jobs that survive a dropped link, a killed daemon and a frozen one, cancel
// by id, status, stop, the lock and idle shutdown.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMessageConnection } from 'vscode-jsonrpc/node';
import { startLocalBackend } from '../../src/backend/client';
import { askDaemon } from '../../src/backend/daemonControl';
import { connectSocket } from '../../src/backend/links/socketLink';
import { connectRemoteBackend, FatalLinkError, type Link, type LinkState } from '../../src/backend/remoteBackend';
import { InitializeRequest, PROTOCOL_VERSION, type GenerateParams, type ScoreParams } from '../../src/protocol/backend';
import { BACKEND_SCRIPT, computedJobs, startDaemonProcess, type DaemonProcess } from '../harness/daemon';
import { repoRoot } from '../harness/paths';
import { scoreParamsFactory, slowAlgorithm } from './support/daemonJobs';
import { until } from '../harness/until';

let job: (jobId: string, source?: string) => ScoreParams;
const cleanups: (() => unknown)[] = [];

before(async () => {
  job = await scoreParamsFactory();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function stateDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'sd-d-'));
}

async function daemon(dir: string, args: string[] = []): Promise<DaemonProcess> {
  const d = await startDaemonProcess(dir, args);
  cleanups.push(() => d.child.kill('SIGKILL'));
  return d;
}

/** A client on the daemon's socket; `links` collects every link it made. */
async function client(sock: string, opts: { heartbeatIntervalMs?: number; heartbeatTimeoutMs?: number; states?: [LinkState, string][] } = {}) {
  const links: Link[] = [];
  const b = await connectRemoteBackend({
    connect: async () => {
      const l = await connectSocket(sock);
      links.push(l);
      return l;
    },
    clientVersion: 'test',
    name: 'test daemon',
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 200,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 1000,
    backoffMs: { initial: 100, max: 400 },
    giveUpAfterMs: 60_000,
    onState: (s, d) => opts.states?.push([s, d]),
  });
  cleanups.push(() => b.dispose());
  return { b, links };
}

describe('backend daemon', () => {
  it('scores a job as the local backend does, and answers the same job id again from its journal', async () => {
    const dir = stateDir();
    const d = await daemon(dir);
    const { b } = await client(d.socket);
    assert.equal(b.info.daemonId, d.daemonId);
    assert.equal(b.info.host, os.hostname());
    assert.ok(Array.isArray(b.info.gpus));
    const progress: string[] = [];
    const remote = await b.score(job('r1/dev/a1'), { onProgress: (p) => progress.push(p.phase) });
    assert.equal(remote.status, 'ok', remote.message);
    assert.ok(progress.includes('apply') && progress.includes('evaluate'), progress.join());

    const local = await startLocalBackend({ script: BACKEND_SCRIPT, clientVersion: 'test' });
    cleanups.push(() => local.dispose());
    const direct = await local.score(job('r1/dev/a1'));
    assert.deepEqual(remote.scores, direct.scores);

    assert.equal(remote.provider, 'cpu');
    assert.equal(remote.fallback, undefined);
    // A GPU provider the backend's machine lacks: the job runs on the CPU and says why.
    const cuda = await b.score({ ...job('r1/dev/a1-cuda'), executionProvider: 'cuda' });
    assert.equal(cuda.provider, 'cpu');
    assert.match(cuda.fallback ?? '', /the cuda execution provider is not available in this onnxruntime installation; using the CPU/);
    assert.deepEqual(cuda.scores, remote.scores);
    assert.ok(!b.info.executionProviders.includes('cuda'), 'the capability report lists no CUDA here');

    const again = await b.score(job('r1/dev/a1'));
    assert.equal(again.fromJournal, true);
    assert.deepEqual(again.scores, remote.scores);
    assert.equal(computedJobs(d.log()).get('r1/dev/a1'), 1);

    // A later daemon on the same state answers it from the journal.
    await b.dispose();
    await askDaemon(dir, 'stop');
    const next = await daemon(dir);
    const c = await client(next.socket);
    const journaled = await c.b.score(job('r1/dev/a1'));
    assert.equal(journaled.fromJournal, true);
    assert.deepEqual(journaled.scores, remote.scores);
    assert.equal(computedJobs(next.log()).size, 0);
  });

  it('generates through the daemon as the local backend does (the LLM factory\'s jobs go the same way)', async () => {
    const d = await daemon(stateDir());
    const { b } = await client(d.socket);
    const params: GenerateParams = {
      jobId: 'g1/generate/1/x',
      generator: { kind: 'engine', model: path.join(repoRoot, 'resources', 'demo', 'models', 'writer'), chat: 'auto' },
      prompt: 'Write a merge function.',
      n: 3,
      sampling: { temperature: 0.8, topP: 1, maxTokens: 24, seed: 5, stop: [] },
      threads: 1,
    };
    const progress: number[] = [];
    const remote = await b.generate(params, { onProgress: (p) => progress.push(p.done) });
    assert.equal(remote.completions.length, 3);
    assert.ok(progress.length >= 1);
    const local = await startLocalBackend({ script: BACKEND_SCRIPT, clientVersion: 'test' });
    cleanups.push(() => local.dispose());
    assert.deepEqual((await local.generate(params)).completions, remote.completions);
  });

  it("exports a merged model on the daemon's machine, journaled while its folder is there", async () => {
    const d = await daemon(stateDir());
    const { b } = await client(d.socket);
    const scored = await b.score(job('x1/dev/a1'));
    const base = job('x1/export/a1');
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'sd-export-')), 'model');
    const phases = new Set<string>();
    const params = { jobId: 'x1/export/a1/1', models: base.models, algorithm: base.algorithm!, limits: base.limits, randomSeed: base.randomSeed, python: base.python, out, metadata: { 'selfdev.run': 'x1' }, card: '# card\n', extraFiles: { 'selfdev-export.json': '{}\n' }, expectDeltaStats: scored.deltaStats };
    const r = await b.exportModel(params, { onProgress: (p) => phases.add(p.phase) });
    assert.equal(r.status, 'ok', r.detail);
    assert.equal(r.folder, out);
    assert.deepEqual([...phases].sort(), ['apply', 'write']);
    assert.deepEqual(r.deltaStats, scored.deltaStats, 'the same merge as the one scored');
    assert.ok(existsSync(path.join(out, 'model.safetensors')) && existsSync(path.join(out, 'README.md')));
    // Asked again under the same id: the journal answers while the folder is there.
    assert.equal((await b.exportModel(params)).fromJournal, true);
    // Statistics that are not the merge's: refused, nothing written.
    const other = path.join(path.dirname(out), 'other');
    const refused = await b.exportModel({ ...params, jobId: 'x1/export/a1/2', out: other, expectDeltaStats: { ...scored.deltaStats, rms: 123 } });
    assert.equal(refused.status, 'failed');
    assert.equal(refused.errorClass, 'not_reproduced');
    assert.equal(existsSync(other), false);
  });

  it('refuses a client of another protocol version with a clear message', async () => {
    const d = await daemon(stateDir());
    const link = await connectSocket(d.socket);
    const conn = createMessageConnection(link.reader, link.writer);
    conn.listen();
    await assert.rejects(conn.sendRequest(InitializeRequest, { protocolVersion: 99, clientVersion: 'future' }), new RegExp(`protocol version 99 is not supported by this backend .*protocol ${PROTOCOL_VERSION}.*update the extension or redeploy the backend`));
    conn.dispose();
    link.close();
  });

  it('a dropped link loses nothing: the client reattaches and gets the result, computed once', async () => {
    const d = await daemon(stateDir());
    const states: [LinkState, string][] = [];
    const { b, links } = await client(d.socket, { states });
    const pending = b.score(job('r2/dev/slow', slowAlgorithm(4e7)));
    await until('the job to start', () => computedJobs(d.log()).has('r2/dev/slow'));
    links[0].close();
    const r = await pending;
    assert.equal(r.status, 'ok', r.message);
    assert.ok(links.length >= 2, 'the client made a new link');
    assert.deepEqual(
      states.map(([s]) => s).filter((s, i, a) => s !== a[i - 1]),
      ['connected', 'reconnecting', 'connected'],
    );
    assert.equal(computedJobs(d.log()).get('r2/dev/slow'), 1);
    assert.equal(r.fromJournal, undefined, 'the result came from the running job, not a second run');
  });

  it('a daemon killed mid-job is restarted: the job is submitted again and completes', async () => {
    const dir = stateDir();
    const first = await daemon(dir);
    const states: [LinkState, string][] = [];
    const { b } = await client(first.socket, { states });
    const pending = b.score(job('r3/dev/slow', slowAlgorithm(6e7)));
    await until('the job to start', () => computedJobs(first.log()).has('r3/dev/slow'));
    first.child.kill('SIGKILL');
    await first.exited;
    await until('the client to notice', () => b.state === 'reconnecting');
    const second = await daemon(dir);
    const r = await pending;
    assert.equal(r.status, 'ok', r.message);
    assert.notEqual(b.info.daemonId, first.daemonId);
    assert.equal(b.info.daemonId, second.daemonId);
    assert.match(second.log(), /1 job\(s\) were running when the daemon last stopped: marked interrupted/);
    assert.equal(computedJobs(second.log()).get('r3/dev/slow'), 1);
  });

  it('a frozen daemon is found by the heartbeat, and the job completes once it thaws', async () => {
    const d = await daemon(stateDir());
    const states: [LinkState, string][] = [];
    const { b } = await client(d.socket, { states, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 800 });
    const pending = b.score(job('r4/dev/slow', slowAlgorithm(2e7)));
    await until('the job to start', () => computedJobs(d.log()).has('r4/dev/slow'));
    const frozenAt = Date.now();
    process.kill(d.pid, 'SIGSTOP');
    try {
      await until('the heartbeat to miss', () => b.state === 'reconnecting', 5000);
      const detected = Date.now() - frozenAt;
      assert.ok(detected < 800 + 200 + 700, `detected after ${detected} ms`);
      assert.match(states.find(([s]) => s === 'reconnecting')![1], /no heartbeat/);
    } finally {
      process.kill(d.pid, 'SIGCONT');
    }
    const r = await pending;
    assert.equal(r.status, 'ok', r.message);
    assert.equal(computedJobs(d.log()).get('r4/dev/slow'), 1);
  });

  it('cancels a job by id, and reports it in the daemon status', async () => {
    const dir = stateDir();
    const d = await daemon(dir);
    const { b } = await client(d.socket);
    const controller = new AbortController();
    const pending = b.score(job('r5/dev/endless', slowAlgorithm(1e10)), { signal: controller.signal });
    await until('the job to start', () => computedJobs(d.log()).has('r5/dev/endless'));
    controller.abort();
    await assert.rejects(pending, /r5\/dev\/endless was cancelled/);
    let status = await askDaemon(dir, 'status');
    for (let i = 0; i < 100 && !(status.running && status.status.jobs.cancelled === 1); i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await askDaemon(dir, 'status');
    }
    assert.ok(status.running && status.status.jobs.cancelled === 1 && status.status.jobs.running === 0, JSON.stringify(status));
  });

  it('has one daemon per state folder, reports status, stops on request and when idle', async () => {
    const dir = stateDir();
    const d = await daemon(dir, ['--idle-minutes', '0']);
    await assert.rejects(startDaemonProcess(dir), /a backend daemon is already running for .* \(pid \d+\)/);
    const status = await askDaemon(dir, 'status');
    assert.ok(status.running);
    assert.equal(status.status.pid, d.pid);
    assert.equal(status.status.protocolVersion, PROTOCOL_VERSION);
    const stopped = await askDaemon(dir, 'stop');
    assert.ok(stopped.running && stopped.stopped);
    assert.equal(await d.exited, 0);
    assert.deepEqual(await askDaemon(dir, 'status'), { running: false, socket: path.join(dir, 'daemon.sock') });

    // Idle shutdown: 0.01 minutes without a client or a job.
    const idle = await daemon(stateDir(), ['--idle-minutes', '0.01']);
    const { b } = await client(idle.socket);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(idle.child.exitCode, null, 'a daemon with a client stays');
    await b.dispose();
    assert.equal(await idle.exited, 0);
    assert.match(idle.log(), /no client and no job for 0\.6 s: stopping/);
  });

  it('a first connection to a daemon that is not there fails clearly', async () => {
    const sock = path.join(stateDir(), 'daemon.sock');
    await assert.rejects(
      connectRemoteBackend({ connect: () => connectSocket(sock), clientVersion: 'test', name: 'nowhere' }),
      (e: Error) => !(e instanceof FatalLinkError) && /no backend daemon answers on/.test(e.message),
    );
  });
});
