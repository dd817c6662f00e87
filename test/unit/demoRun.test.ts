// The main job, whole: `selfdev demo` on the demo world, as the README's first command runs it.
// Three iterations written by the demo's writer, refined by DPO twice (the last planned
// iteration's refinement is deferred), the unrefined writer as the control, then finalize. It
// must finish within the demo's time limit (DEMO_LIMIT_MS: 10 minutes on two CPU cores; it takes
// about six and a half); the README reports the figures of this run.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { LlmFactoryRecord } from '../../src/core/factory/llmFactoryRecord';
import type { RunSummary } from '../../src/core/loop/runLoop';
import { repoRoot } from '../harness/paths';

const DEMO_LIMIT_MS = 10 * 60_000;

describe('selfdev demo', () => {
  it('runs three LLM-written iterations with the writer refined twice, and finalizes, within the time limit', { timeout: DEMO_LIMIT_MS + 30_000 }, async () => {
    // Outside the project's repository: the demo makes a repository of its own for the runs.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-demo-'));
    const runs = path.join(dir, 'runs');
    try {
      const started = Date.now();
      const { code, out, err } = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(repoRoot, 'out', 'cli.js'), 'demo', '--runs', runs, '--json'], { cwd: dir });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err = (err + d).slice(-20000)));
        const timer = setTimeout(() => child.kill('SIGKILL'), DEMO_LIMIT_MS);
        child.on('close', (c) => {
          clearTimeout(timer);
          resolve({ code: c, out, err });
        });
      });
      const seconds = (Date.now() - started) / 1000;
      console.log(`selfdev demo took ${seconds.toFixed(0)} s`);
      assert.equal(code, 0, `selfdev demo failed or passed ${DEMO_LIMIT_MS / 60_000} minutes: ${err.slice(-3000)}`);
      const [id] = readdirSync(runs).filter((f) => f.startsWith('demo-'));
      const run = path.join(runs, id);
      const factory = (t: number) => JSON.parse(readFileSync(path.join(run, 'iterations', `0${t}`, 'factory.json'), 'utf8')) as LlmFactoryRecord;
      const generation = (t: number) => JSON.parse(readFileSync(path.join(run, 'iterations', `0${t}`, 'generation.json'), 'utf8')) as { factory: { version: number; weights?: string } };
      // Refined twice: after iterations 1 and 2; iteration 3's refinement waits for a fourth.
      for (const t of [1, 2]) {
        const f = factory(t);
        assert.equal(f.refinement?.status, 'refined', `iteration ${t}: ${JSON.stringify(f.refinement)}`);
        assert.deepEqual([f.wrote, f.version], [t - 1, t]);
        assert.ok(f.refinement?.status === 'refined' && f.refinement.metrics.heldOut && f.refinement.metrics.heldOut.pairs > 0, 'measured on held-out pairs');
        assert.ok(existsSync(path.join(runs, '.artifacts', ...f.weights!.artifact.split('/'), 'merged', 'model.safetensors')));
        // The refined version wrote the next iteration.
        assert.deepEqual(generation(t + 1).factory, { kind: 'llm', version: t, weights: f.weights!.artifact });
      }
      assert.equal(factory(3).refinement?.status, 'deferred');
      // The control is the unrefined writer, scored at each iteration's temperature.
      const summary = JSON.parse(out) as RunSummary;
      assert.equal(summary.iterations.length, 3);
      assert.ok(summary.iterations.every((it) => it.control.algorithms === 32));
      assert.deepEqual(summary.lineage.map((s) => s.status), ['refined', 'refined', 'deferred']);
      assert.ok(summary.sealedTest && summary.sealedTest.finalists.length > 0, 'finalized on the sealed test split');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
