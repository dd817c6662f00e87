import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyCommand, formatResult, modelsFromConfig, parseApplyArgs } from '../../src/cli/applyCommand';
import { applyAlgorithm, findRunnerScript, parseChannel, resultFromRecord, resultWithoutRecord, runnerEnvironment, WarmRunners } from '../../src/engine/runner';
import { FAILURE_CLASSES, FAILURE_MESSAGES, type ApplyJob } from '../../src/engine/runner/types';
import { repoRoot } from '../harness/paths';
import { until } from '../harness/until';

const python = process.env.SELFDEV_PYTHON ?? 'python3';
const TA = path.join(repoRoot, 'resources', 'algorithms', 'task_arithmetic.py');
const LOOP = 'def merge(task_vectors, name):\n    while True:\n        pass\n';
let root: string;
let config: string;

/** Runner processes still alive for this job: the runner and bubblewrap name the job's scratch
 * folder or the worker script on their command line, and an unisolated worker runs in scratch. */
function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(dir) || cmd.includes('sandbox_worker.py') || cmd.includes('apply_algorithm.py')) found.push(Number(pid));
    } catch {
      /* gone or not ours */
    }
  }
  return found;
}

/** A stand-in for the runner script, to drive the channel protocol from the other side. */
function fakeRunner(name: string, body: string): string {
  const file = path.join(root, `${name}.py`);
  writeFileSync(file, `import json, os, sys\njob = json.loads(sys.stdin.read())\nch = job.get("resultChannel") or {}\n${body}\n`);
  return file;
}

function job(name: string, extra: Partial<ApplyJob> = {}): ApplyJob {
  return {
    seedModel: path.join(root, 'w', 'seed'),
    candidates: [0, 1, 2].map((j) => path.join(root, 'w', `cand${j}`)),
    scratch: path.join(root, name),
    limits: { wallSeconds: 20, cpuSeconds: 20, memoryMB: 1024 },
    ...extra,
  };
}

before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'selfdev-runner-test-'));
  const make = `import sys; from pathlib import Path; sys.path.insert(0, ${JSON.stringify(path.join(repoRoot, 'test', 'python'))}); import runner_fixtures as rf; rf.make_world(Path(${JSON.stringify(path.join(root, 'w'))}))`;
  const r = spawnSync(python, ['-c', make], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  config = path.join(root, 'run.json');
  writeFileSync(config, JSON.stringify({ seed: 'w/seed', candidates: ['w/cand0', 'w/cand1', 'w/cand2'], mergeScope: '\\.mlp\\.' }));
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('sandboxed runner driver', () => {

  it('finds the runner script from the compiled module', () => {
    assert.ok(findRunnerScript().endsWith(path.join('resources', 'python', 'apply_algorithm.py')));
  });

  it('has the same failure classes and messages as the Python side', () => {
    const r = spawnSync(python, ['-c', `import sys, json; sys.path.insert(0, ${JSON.stringify(path.join(repoRoot, 'resources', 'python'))}); from selfdev_runner import checks; print(json.dumps(checks.MESSAGES))`], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(r.stdout), FAILURE_MESSAGES);
    assert.deepEqual(Object.keys(FAILURE_MESSAGES), [...FAILURE_CLASSES]);
  });

  it('applies a baseline and returns the typed record', async () => {
    const r = await applyAlgorithm(job('ok', { algorithmFile: TA }), { python });
    assert.equal(r.status, 'ok', JSON.stringify(r));
    assert.ok(r.mergedFile && existsSync(r.mergedFile));
    assert.equal(r.parameters, 6);
    assert.ok(r.deltaStats && r.deltaStats.rms > 0);
    assert.ok(r.timings.totalMs > 0 && r.peakMemoryMB > 0);
    assert.equal(r.sandbox?.auditHook, true);
    assert.equal(r.isolation, 'kernel');
    assert.equal(r.sandbox?.uid, 65534);
    assert.match(r.mergedSha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(createHash('sha256').update(readFileSync(r.mergedFile)).digest('hex'), r.mergedSha256);
  });

  it('reports the failure class of a broken algorithm', async () => {
    const r = await applyAlgorithm(job('syntax', { source: 'def merge(a, b)\n  return a\n' }), { python });
    assert.equal(r.status, 'failed');
    assert.equal(r.errorClass, 'syntax');
    assert.equal(r.message, FAILURE_MESSAGES.syntax);
  });

  it('kills the whole process group at its own outer limit', async () => {
    const scratch = path.join(root, 'outer');
    const r = await applyAlgorithm(job('outer', { source: LOOP, limits: { wallSeconds: 60, cpuSeconds: 60 } }), { python, outerTimeoutMs: 1500, killGraceMs: 500 });
    assert.equal(r.errorClass, 'timeout');
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(processesIn(scratch), []);
  });

  it('cancels through an AbortSignal and leaves no process behind', async () => {
    const scratch = path.join(root, 'abort');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 800);
    await assert.rejects(applyAlgorithm(job('abort', { source: LOOP, limits: { wallSeconds: 60, cpuSeconds: 60 } }), { python, signal: ac.signal }), (e: Error) => e.name === 'AbortError');
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(processesIn(scratch), []);
  });

  it('reports a missing interpreter as a setup failure', async () => {
    const r = await applyAlgorithm(job('nopython', { algorithmFile: TA }), { python: '/nonexistent/python3' });
    assert.equal(r.errorClass, 'setup');
    assert.match(r.detail ?? '', /not found/);
  });

  it('turns a malformed record into a setup failure', () => {
    assert.equal(resultFromRecord('Traceback...').errorClass, 'setup');
    assert.equal(resultFromRecord({ status: 'failed', errorClass: 'weird' }).errorClass, 'setup');
    assert.equal(resultFromRecord({ status: 'ok', timings: { totalMs: 1 }, peakMemoryMB: 2 }).status, 'ok');
  });

  it('reads only lines that carry the job nonce from the result channel', () => {
    const ok = JSON.stringify({ event: 'result', result: { status: 'ok' } });
    const forged = JSON.stringify({ event: 'result', result: { status: 'ok', mergedFile: '/tmp/good.safetensors' } });
    const m = parseChannel(`SELFDEV other ${forged}\n{"status":"ok"}\nSELFDEV n1 {"event":"loaded"}\nSELFDEV n1 not json\nSELFDEV n1 ${ok}\nSELFDEV n1 ${forged}\n`, 'n1');
    assert.equal(m.loaded, true);
    assert.deepEqual(m.result, { status: 'ok' }); // the first result with the nonce; later ones are ignored
    assert.equal(m.rejected, 4);
  });

  it('blames the algorithm when the runner dies after loading it, and setup before', () => {
    assert.equal(resultWithoutRecord({ loaded: true, rejected: 0 }, 'SIGKILL', '').errorClass, 'exception');
    assert.equal(resultWithoutRecord({ loaded: false, rejected: 0 }, 'code 1', 'ImportError: numpy').errorClass, 'setup');
  });

  it('ignores a record forged on stdout: only the fd-3 channel with the nonce counts', async () => {
    const script = fakeRunner('forger', `print(json.dumps({"status": "ok", "mergedFile": "/tmp/forged.safetensors", "timings": {}, "peakMemoryMB": 1}))\nos.write(ch["fd"], b'SELFDEV wrongnonce {"event":"result","result":{"status":"ok"}}\\n')`);
    const r = await applyAlgorithm(job('forger', { algorithmFile: TA }), { python, runnerScript: script });
    assert.equal(r.status, 'failed');
    assert.equal(r.errorClass, 'setup');
    assert.equal(r.mergedFile, undefined);
  });

  it('counts a runner killed after the loaded event as the algorithm\'s failure', async () => {
    const script = fakeRunner('dies', `os.write(ch["fd"], ("SELFDEV %s %s\\n" % (ch["nonce"], json.dumps({"event": "loaded"}))).encode())\nos.kill(os.getpid(), 9)`);
    const r = await applyAlgorithm(job('dies', { algorithmFile: TA }), { python, runnerScript: script });
    assert.equal(r.errorClass, 'exception');
    assert.match(r.detail ?? '', /after the algorithm was loaded/);
  });

  it('passes no tokens to the runner', () => {
    const env = runnerEnvironment({ PATH: '/usr/bin', HOME: '/home/x', GITHUB_TOKEN: 't', OPENAI_API_KEY: 'k', AWS_SECRET_ACCESS_KEY: 's' });
    assert.deepEqual(Object.keys(env).sort(), ['HOME', 'PATH', 'PYTHONDONTWRITEBYTECODE', 'PYTHONHASHSEED', 'PYTHONNOUSERSITE']);
  });
});

describe('selfdev apply', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) } };
  };

  it('parses its arguments and rejects bad ones', () => {
    const p = parseApplyArgs(['a.py', '--config', 'c.json', '--set', 'LAMBDA=0.4', '--set', 'COMBINE=ties', '--benchmark', 'gsm', '--json', '--seed', '3'], {});
    assert.deepEqual(p.constants, { LAMBDA: 0.4, COMBINE: 'ties' });
    assert.deepEqual(p.benchmarks, ['gsm']);
    assert.equal(p.seed, 3);
    assert.equal(p.python, 'python3');
    assert.throws(() => parseApplyArgs(['a.py'], {}), /--config is required/);
    assert.throws(() => parseApplyArgs(['--config', 'c'], {}), /exactly one algorithm/);
    assert.throws(() => parseApplyArgs(['a.py', '--config', 'c', '--frob'], {}), /unknown option/);
  });

  it('resolves model folders relative to the config', () => {
    const m = modelsFromConfig('/x/y/run.json', { seed: 'models/seed', candidates: ['models/a'], mergeScope: 'mlp' });
    assert.deepEqual(m, { seed: '/x/y/models/seed', candidates: ['/x/y/models/a'], scope: 'mlp', tensorLibrary: undefined });
  });

  it('exits 2 on usage errors', async () => {
    const t = io();
    assert.equal(await applyCommand(['--json'], t.io), 2);
    assert.match(t.err.join('\n'), /usage: selfdev apply/);
    assert.equal(await applyCommand(['missing.py', '--config', config], t.io), 2);
  });

  it('applies, prints status and statistics, and hands the merged file to the evaluation seam', async () => {
    const t = io();
    let seen: string | undefined;
    const code = await applyCommand([TA, '--config', config, '--set', 'LAMBDA=0.3', '--scratch', path.join(root, 'cli-ok')], t.io, {
      evaluate: async (req) => {
        seen = req.mergedFile;
        return { scores: { gsm: 0.42 } };
      },
    });
    assert.equal(code, 0, t.err.join('\n'));
    const text = t.out.join('\n');
    assert.match(text, /^status: ok/);
    assert.match(text, /delta: mean\|d\|/);
    assert.match(text, /score gsm: 42\.0%/);
    assert.ok(seen && existsSync(seen));
  });

  it('says which isolation ran, and removes a temporary scratch folder at the end', async () => {
    const t = io();
    let seen: string | undefined;
    const before = new Set(readdirSync(os.tmpdir()).filter((n) => n.startsWith('selfdev-apply-')));
    const code = await applyCommand([TA, '--config', config], t.io, { evaluate: async (req) => ((seen = req.mergedFile), { scores: { gsm: 0.5 } }) });
    assert.equal(code, 0, t.err.join('\n'));
    assert.match(t.out.join('\n'), /sandbox: kernel isolation \(namespaces mount, pid, network, ipc, uts, cgroup; uid 65534; seccomp; scratch 64 MB\)/);
    assert.match(t.out.join('\n'), /merged: removed at the end/);
    assert.ok(seen && !existsSync(seen) && !existsSync(path.dirname(seen)), 'the temporary scratch folder is gone');
    assert.deepEqual(readdirSync(os.tmpdir()).filter((n) => n.startsWith('selfdev-apply-') && !before.has(n)), []);
  });

  it('refuses to run an algorithm without kernel isolation unless --allow-unisolated is given', async () => {
    const saved = process.env.SELFDEV_BWRAP;
    process.env.SELFDEV_BWRAP = path.join(root, 'no-bwrap');
    try {
      const refused = io();
      assert.equal(await applyCommand([TA, '--config', config], refused.io), 1);
      const text = refused.out.join('\n');
      assert.match(text, /setup/);
      assert.match(text, /kernel isolation is not available: bubblewrap \(bwrap\) is not installed.*--allow-unisolated/s);
      const allowed = io();
      assert.equal(await applyCommand([TA, '--config', config, '--allow-unisolated'], allowed.io, { evaluate: async () => ({ scores: { gsm: 0.5 } }) }), 0, allowed.err.join('\n'));
      assert.match(allowed.out.join('\n'), /sandbox: UNISOLATED \(Python-level guards only/);
    } finally {
      if (saved === undefined) delete process.env.SELFDEV_BWRAP;
      else process.env.SELFDEV_BWRAP = saved;
    }
  });

  it('prints JSON and exits 1 for a failing algorithm', async () => {
    const bad = path.join(root, 'bad.py');
    writeFileSync(bad, 'import os\ndef merge(task_vectors, name):\n    return task_vectors[0]\n');
    const t = io();
    assert.equal(await applyCommand([bad, '--config', config, '--json', '--scratch', path.join(root, 'cli-bad')], t.io), 1);
    const r = JSON.parse(t.out.join('\n'));
    assert.equal(r.errorClass, 'forbidden');
    assert.equal(r.evaluation, null);
  });

  it('formats a failure with its message, detail and trimmed traceback', () => {
    const lines = formatResult({ status: 'failed', errorClass: 'exception', message: FAILURE_MESSAGES.exception, detail: 'w: KeyError', traceback: '  line 3, in merge: x[1]\nKeyError: 1', timings: {}, peakMemoryMB: 0 }, 'a.py');
    assert.equal(lines[0], 'status: failed (exception)');
    assert.ok(lines.includes('  KeyError: 1'));
  });
});

describe('warm runners (the supervisor kept between jobs)', () => {
  const LEAK = 'import numpy as np\n\ndef merge(task_vectors, name):\n    np.leaked_state = 1\n    return sum(task_vectors) / len(task_vectors)\n';
  // Sees what an earlier algorithm left in its process, if anything: then it fails.
  const SEES = 'import numpy as np\n\ndef merge(task_vectors, name):\n    if hasattr(np, "leaked_state"):\n        raise RuntimeError("state of an earlier algorithm is visible")\n    return sum(task_vectors) / len(task_vectors)\n';

  it('answers as a fresh runner does, on one supervisor, each algorithm in a worker forked by the sandbox zygote that sees nothing of the last', async () => {
    const warm = new WarmRunners();
    try {
      const source = readFileSync(TA, 'utf8');
      const cold = await applyAlgorithm(job('cold', { source, randomSeed: 3 }), { python });
      const first = await warm.apply(job('warm1', { source, randomSeed: 3 }), { python });
      assert.equal(first.status, 'ok', first.detail);
      assert.equal(first.mergedSha256, cold.mergedSha256, 'the same merged weights as a one-shot runner');
      assert.equal(first.isolation, cold.isolation);
      assert.equal(cold.sandbox?.worker, 'fresh');
      assert.equal(first.sandbox?.worker, 'forked', 'a warm runner forks its workers from a zygote');
      const leak = await warm.apply(job('warm2', { source: LEAK }), { python });
      assert.equal(leak.status, 'ok', leak.detail);
      const sees = await warm.apply(job('warm3', { source: SEES }), { python });
      assert.equal(sees.status, 'ok', `a later algorithm saw an earlier one's state: ${sees.detail}`);
      const broken = await warm.apply(job('warm4', { source: 'def merge(task_vectors, name):\n    raise ValueError("no")\n' }), { python });
      assert.equal(broken.status, 'failed');
      assert.equal(broken.errorClass, 'exception');
      const after = await warm.apply(job('warm5', { source, randomSeed: 3 }), { python });
      assert.equal(after.mergedSha256, cold.mergedSha256);
      assert.equal(after.sandbox?.worker, 'forked');
      assert.equal(warm.started, 1, 'one supervisor served every job');
    } finally {
      warm.dispose();
    }
  });

  it('a job that times out or is cancelled ends its supervisor, and the next job gets a fresh one', async () => {
    const warm = new WarmRunners();
    try {
      const outer = await warm.apply(job('wouter', { source: LOOP, limits: { wallSeconds: 60, cpuSeconds: 60 } }), { python, outerTimeoutMs: 1500, killGraceMs: 500 });
      assert.equal(outer.errorClass, 'timeout');
      const ac = new AbortController();
      const aborted = warm.apply(job('wabort', { source: LOOP, limits: { wallSeconds: 60, cpuSeconds: 60 } }), { python, signal: ac.signal });
      setTimeout(() => ac.abort(), 1000);
      await assert.rejects(aborted, (e: Error) => e.name === 'AbortError');
      const ok = await warm.apply(job('wok', { algorithmFile: TA }), { python });
      assert.equal(ok.status, 'ok', ok.detail);
      assert.equal(warm.started, 3, 'a stopped supervisor is never reused');
    } finally {
      warm.dispose();
    }
    // The idle one ends with its input; nothing of the stopped jobs is left either.
    await until('the runners to end', () => ['wouter', 'wabort', 'wok'].every((d) => processesIn(path.join(root, d)).length === 0), 10_000);
  });
});
