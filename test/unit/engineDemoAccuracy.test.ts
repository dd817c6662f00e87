// The engine reproduces the demo's own measurements: for every demo model, the same greedy
// completions on the dev splits as the training script recorded (transformers), and so the
// same accuracies.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { benchmarkJobs, readRunConfig, scoreSettings } from '../../src/core/config/runConfig';
import { evaluateBenchmarks, loadModelForEval } from '../../src/engine/evaluate';
import { repoRoot } from '../harness/paths';

const demo = path.join(repoRoot, 'resources', 'demo');
const measured = JSON.parse(readFileSync(path.join(demo, 'measured.json'), 'utf8')) as {
  models: Record<string, Record<string, number>>;
  dev_items: Record<string, Record<string, string[]>>;
};

describe('demo models: engine vs the recorded measurements', () => {
  for (const name of Object.keys(measured.models)) {
    it(`${name}: same dev completions and accuracies`, async () => {
      const config = await readRunConfig(path.join(demo, 'demo.run.json'));
      const model = await loadModelForEval(path.join(demo, 'models', name), { maxContext: 256 });
      try {
        const results = await evaluateBenchmarks(model, benchmarkJobs(config, 'dev'), { ...scoreSettings(config), batchSize: 64 });
        for (const r of results) {
          const key = `${r.name}_dev`;
          const recorded = measured.dev_items[name][key];
          const completions = r.records.map((x) => x.completion);
          const differing = completions.filter((c, i) => c !== recorded[i]).length;
          assert.equal(differing, 0, `${name} ${key}: ${differing} completions differ from the recorded ones`);
          assert.equal(Number((100 * r.accuracy).toFixed(1)), measured.models[name][key], `${name} ${key} accuracy`);
        }
      } finally {
        await model.session.release();
      }
    });
  }
});
