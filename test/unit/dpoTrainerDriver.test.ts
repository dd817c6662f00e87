// The driver of the DPO trainer process: which Python it picks, the environment it hands over (no
// secrets, no hub), and what it says when that Python cannot train.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { findPythonResource, runDpoTrainer, TRAINER_SCRIPT, trainerEnvironment, trainerPython } from '../../src/engine/training/dpoTrainer';
import { dpoHyperparameters, LLM_REFINE_DEFAULTS } from '../../src/core/config/runConfig';
import { repoRoot } from '../harness/paths';
import { demoModel } from './support/python';

const spec = { base: demoModel('writer'), train: [{ prompt: 'p', chosen: 'c', rejected: 'r' }], heldOut: [], hyperparameters: dpoHyperparameters(LLM_REFINE_DEFAULTS, 0), device: 'cpu' as const };

describe('the DPO trainer driver', () => {
  it('hands the trainer no secrets and no hub access', () => {
    const env = trainerEnvironment({ PATH: '/usr/bin', HOME: '/root', OPENAI_API_KEY: 'sk-1', SELFDEV_LLM_API_KEY: 'sk-2', HF_TOKEN: 'hf_x', AWS_SECRET_ACCESS_KEY: 'a', GITHUB_TOKEN: 'g', DB_PASSWORD: 'p', CUDA_VISIBLE_DEVICES: '0' }, 3);
    assert.deepEqual(Object.keys(env).filter((k) => /KEY|TOKEN|SECRET|PASSWORD/.test(k)), ['TOKENIZERS_PARALLELISM'], 'only the setting the driver adds');
    assert.ok(!Object.values(env).some((v) => /^(sk-|hf_)/.test(String(v))));
    assert.equal(env.PATH, '/usr/bin');
    assert.equal(env.CUDA_VISIBLE_DEVICES, '0');
    assert.equal(env.HF_HUB_OFFLINE, '1');
    assert.equal(env.OMP_NUM_THREADS, '3');
  });

  it("picks the caller's Python, else $SELFDEV_TRAIN_PYTHON, else the installation's .venv-llm", () => {
    const script = findPythonResource(TRAINER_SCRIPT);
    assert.equal(script, path.join(repoRoot, 'resources', 'python', TRAINER_SCRIPT));
    assert.equal(trainerPython('/opt/py', script, { SELFDEV_TRAIN_PYTHON: '/other' }), '/opt/py');
    assert.equal(trainerPython(undefined, script, { SELFDEV_TRAIN_PYTHON: '/other' }), '/other');
    assert.equal(trainerPython(undefined, script, {}), path.join(repoRoot, '.venv-llm', 'bin', 'python'));
    assert.equal(trainerPython(undefined, '/nowhere/resources/python/selfdev_dpo.py', {}), 'python3');
  });

  it('says how to install the training stack when the Python lacks it, and when there is no such Python', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-trainer-'));
    try {
      // A Python without TRL: the system one the runner uses has transformers 4.46 but no trl.
      await assert.rejects(runDpoTrainer(spec, path.join(dir, 'a'), { python: 'python3' }), /python3 lacks the training stack \((trl|peft|datasets)\): run scripts\/setup\.sh/);
      await assert.rejects(runDpoTrainer(spec, path.join(dir, 'b'), { python: path.join(dir, 'no-python') }), /could not start .*no-python/);
      // One that dies without saying why: its exit code and its last words.
      const dying = path.join(dir, 'dying');
      writeFileSync(dying, '#!/bin/sh\necho "out of luck" >&2\nexit 7\n');
      chmodSync(dying, 0o755);
      await assert.rejects(runDpoTrainer(spec, path.join(dir, 'c'), { python: dying }), /the DPO trainer stopped \(exit code 7\): out of luck/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
