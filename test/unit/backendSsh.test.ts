// The ssh transport against a second sshd on loopback (Debian's openssh-server, its own host key
// and known_hosts): host-key failures are errors, never prompts; deploy installs the bundle once;
// jobs run through the bridge and the daemon it starts; a frozen ssh is found by the heartbeat;
// and the CLI killed with SIGKILL mid-iteration resumes with nothing lost and nothing scored twice.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openBackend, parseBackendSpec } from '../../src/app/backends';
import { askDaemon } from '../../src/backend/daemonControl';
import { bridgeCommand, deployBackend, type RemoteHost } from '../../src/backend/deploy';
import { connectSsh } from '../../src/backend/links/sshLink';
import { connectRemoteBackend, type Link, type LinkState } from '../../src/backend/remoteBackend';
import type { ScoreParams } from '../../src/protocol/backend';
import { computedJobs } from '../harness/daemon';
import { repoRoot } from '../harness/paths';
import { sshdAvailable, startLoopbackSshd, type LoopbackSshd } from '../harness/sshd';
import { scoreParamsFactory, slowAlgorithm } from './support/daemonJobs';
import { PYTHON } from './support/python';
import { writeSmallConfig } from './support/smallRun';
import { until } from '../harness/until';

const CLI = path.join(repoRoot, 'out', 'cli.js');
const INSTALLATION = { root: repoRoot, version: (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version };

let sshd: LoopbackSshd;
let job: (jobId: string, source?: string) => ScoreParams;
const cleanups: (() => unknown)[] = [];

/** A fresh remote folder (install + daemon state) on the loopback host. */
function host(name: 'selfdev-test' | 'selfdev-unknown' = 'selfdev-test'): RemoteHost {
  return { destination: name, sshOptions: ['-F', sshd.config], node: process.execPath, python: PYTHON, dir: mkdtempSync(path.join(os.tmpdir(), 'sd-r-')) };
}

const daemonLog = (h: RemoteHost) => (existsSync(path.join(h.dir!, 'daemon.log')) ? readFileSync(path.join(h.dir!, 'daemon.log'), 'utf8') : '');

before(async () => {
  if (!sshdAvailable()) throw new Error('openssh-server is not installed (scripts/setup.sh installs it)');
  sshd = await startLoopbackSshd();
  job = await scoreParamsFactory();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  sshd?.stop();
});

/** Stops the daemon a test started through the bridge. */
function stopDaemonAfter(h: RemoteHost) {
  cleanups.push(() => askDaemon(h.dir!, 'stop'));
}

describe('the ssh transport', () => {
  it('fails clearly, without a prompt, on a host whose key is not known', async () => {
    const h = host('selfdev-unknown');
    const started = Date.now();
    await assert.rejects(deployBackend(h, { root: repoRoot, version: INSTALLATION.version }), /ssh selfdev-unknown: its host key is unknown or has changed: check it and accept it once with `ssh selfdev-unknown`.*Host key verification failed/s);
    await assert.rejects(
      connectRemoteBackend({ connect: () => connectSsh(h, ['true']), clientVersion: 'test', name: 'ssh selfdev-unknown' }),
      (e: Error) => e.name === 'FatalLinkError' && /host key is unknown or has changed/.test(e.message),
    );
    assert.ok(Date.now() - started < 20_000);
  });

  it('deploys the backend once: a second deploy of the same bundle does nothing', async () => {
    const h = host();
    const first = await deployBackend(h, { root: repoRoot, version: INSTALLATION.version });
    assert.equal(first.installed, true);
    assert.ok(first.bytes > 5 * 2 ** 20, `bundle of ${first.bytes} bytes`);
    assert.match(first.installDir, new RegExp(`^${h.dir}/dist/${INSTALLATION.version.replace(/\./g, '\\.')}-[0-9a-f]{12}$`));
    assert.equal(first.facts.platform, `${process.platform}-${process.arch}`);
    assert.ok(!('error' in first.capabilities.onnxruntime));
    assert.ok(first.capabilities.onnxruntime.executionProviders.includes('cpu'));
    assert.ok(!('error' in first.python) && first.python.numpy, JSON.stringify(first.python));
    assert.deepEqual(first.problems, []);
    assert.equal(readFileSync(path.join(first.installDir, '.complete'), 'utf8').trim().length, 64);
    assert.deepEqual(readdirSync(path.join(h.dir!, 'dist')), [path.basename(first.installDir)], 'no lock or temporary folder left');
    for (const f of ['out/backend.js', 'resources/python/apply_algorithm.py', `node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`]) assert.ok(existsSync(path.join(first.installDir, f)), f);

    const second = await deployBackend(h, { root: repoRoot, version: INSTALLATION.version });
    assert.equal(second.installed, false);
    assert.equal(second.bytes, 0, 'nothing uploaded');
    assert.equal(second.installDir, first.installDir);

    // A missing Python is reported, not installed.
    const noPython = await deployBackend({ ...h, python: '/nonexistent/python3' }, { root: repoRoot, version: INSTALLATION.version });
    assert.match(noPython.problems.join('\n'), /"\/nonexistent\/python3" cannot be run on selfdev-test/);
    // A missing Node is a clear error.
    await assert.rejects(deployBackend({ ...h, node: '/nonexistent/node' }, { root: repoRoot, version: INSTALLATION.version }), /selfdev-test has no "\/nonexistent\/node": install Node 20 or later/);
  });

  it('runs jobs through the bridge and the daemon it starts; a frozen ssh is found by the heartbeat', async () => {
    const h = host();
    stopDaemonAfter(h);
    const report = await deployBackend(h, { root: repoRoot, version: INSTALLATION.version });
    const links: Link[] = [];
    const states: [LinkState, string][] = [];
    const b = await connectRemoteBackend({
      connect: async () => {
        const l = await connectSsh(h, bridgeCommand(h, report.installDir, report.stateDir));
        links.push(l);
        return l;
      },
      clientVersion: INSTALLATION.version,
      name: 'ssh selfdev-test',
      heartbeatIntervalMs: 250,
      heartbeatTimeoutMs: 1000,
      backoffMs: { initial: 100, max: 500 },
      onState: (s, d) => states.push([s, d]),
    });
    cleanups.push(() => b.dispose());
    assert.equal(b.info.host, os.hostname());
    const quick = await b.score(job('s1/dev/a1'));
    assert.equal(quick.status, 'ok', quick.message);
    assert.match(daemonLog(h), /listening on .*daemon\.sock/);

    const pending = b.score(job('s1/dev/slow', slowAlgorithm(4e7)));
    await until('the job to start', () => computedJobs(daemonLog(h)).has('s1/dev/slow'));
    const frozen = links.at(-1)!;
    const frozenAt = Date.now();
    process.kill(frozen.pid!, 'SIGSTOP');
    try {
      await until('the heartbeat to miss', () => b.state === 'reconnecting', 5000);
      assert.ok(Date.now() - frozenAt < 1000 + 250 + 1000, `found after ${Date.now() - frozenAt} ms`);
    } finally {
      // The client may have killed the frozen ssh already.
      try {
        process.kill(frozen.pid!, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
    const r = await pending;
    assert.equal(r.status, 'ok', r.message);
    assert.ok(links.length >= 2, 'a new ssh was started');
    assert.equal(computedJobs(daemonLog(h)).get('s1/dev/slow'), 1);
    assert.equal(states.at(-1)![0], 'connected');
  });

  it('the CLI killed with SIGKILL mid-iteration resumes through ssh: nothing lost, nothing scored twice', async () => {
    const h = host();
    stopDaemonAfter(h);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-ssh-cli-'));
    const config = writeSmallConfig(dir, { algorithmsPerIteration: 6, iterations: 1 });
    const runs = path.join(dir, 'runs');
    const args = ['--runs', runs, '--backend', 'ssh://selfdev-test', '--ssh-config', sshd.config, '--remote-node', process.execPath, '--remote-dir', h.dir!, '--python', PYTHON, '--factory', 'grammar'];
    const created = spawnSync(process.execPath, [CLI, 'new', config, '--id', 'viassh', ...args], { cwd: dir, encoding: 'utf8' });
    assert.equal(created.status, 0, created.stderr);
    const header = JSON.parse(readFileSync(path.join(runs, 'viassh', 'run.json'), 'utf8')) as { backend?: unknown };
    assert.deepEqual(header.backend, { kind: 'ssh', target: 'selfdev-test' });

    const first = spawn(process.execPath, [CLI, 'iterate', 'viassh', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let firstErr = '';
    first.stderr!.on('data', (d: Buffer) => (firstErr += d.toString()));
    await until('two algorithms to be scored', () => [...computedJobs(daemonLog(h)).keys()].filter((k) => k.startsWith('viassh/dev/')).length >= 2, 120_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    assert.match(firstErr, /backend: ssh selfdev-test/);

    const second = spawnSync(process.execPath, [CLI, 'iterate', 'viassh', ...args], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    assert.equal(second.status, 0, second.stderr);
    const results = readFileSync(path.join(runs, 'viassh', 'iterations', '01', 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; status: string });
    const ids = results.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'each algorithm recorded once');
    assert.equal(ids.length, 6);
    const computed = computedJobs(daemonLog(h));
    for (const [jobId, n] of computed) assert.equal(n, 1, `${jobId} computed ${n} times`);
    assert.ok([...computed.keys()].filter((k) => k.startsWith('viassh/dev/')).length >= 1);
  });

  it('reads ssh, WebSocket and unix backend addresses', () => {
    assert.deepEqual(parseBackendSpec('ssh://me@gpu1:2222', { remoteNode: '/opt/node' }), { kind: 'ssh', host: { destination: 'me@gpu1', sshOptions: ['-p', '2222'], node: '/opt/node', python: undefined, dir: undefined } });
    assert.throws(() => parseBackendSpec('ssh://-oProxyCommand=x'), /not an ssh destination/);
    assert.throws(() => parseBackendSpec('ws://127.0.0.1:1'), /needs its bearer token in \$SELFDEV_BACKEND_TOKEN/);
    assert.deepEqual(parseBackendSpec('unix:/tmp/x.sock'), { kind: 'unix', socket: '/tmp/x.sock' });
    assert.throws(() => parseBackendSpec('http://x'), /is not a backend/);
    void openBackend;
  });
});
