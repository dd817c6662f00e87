// Refining the LLM factory through the real backend process: TRL's DPOTrainer with a PEFT LoRA
// adapter (resources/python/selfdev_dpo.py in .venv-llm) on the demo writer, with its progress
// streamed, its result published as a content-hashed artifact that the engine then generates
// with, answered from the journal when repeated, and nothing published by a cancelled trainer.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalBackend, type Backend } from '../../src/backend/client';
import { folderHash } from '../../src/backend/fileHash';
import { dpoHyperparameters, readRunConfig } from '../../src/core/config/runConfig';
import { extractAlgorithm } from '../../src/core/factory/extractCode';
import { DecoderState } from '../../src/engine/inference/decoderState';
import { createDecoderSession } from '../../src/engine/inference/session';
import { openHfModel } from '../../src/engine/model/hfModel';
import type { DpoHyperparameters, PreferenceRow, RefineParams, RefineProgressParams } from '../../src/protocol/backend';
import { repoRoot } from '../harness/paths';
import { demoModel } from './support/python';
import { execFileSync } from 'node:child_process';

const demo = path.join(repoRoot, 'resources', 'demo');
const TRAIN_PYTHON = path.join(repoRoot, '.venv-llm', 'bin', 'python');

describe('DPO refinement of the LLM factory on the backend', () => {
  let dir: string;
  let backend: Backend;
  let rows: PreferenceRow[];
  let hyperparameters: DpoHyperparameters;
  const params = (extra: Partial<RefineParams> = {}): RefineParams => ({
    jobId: 'run/refine/1/test',
    base: { model: demoModel('writer') },
    train: rows.slice(0, 12),
    heldOut: rows.slice(12),
    hyperparameters,
    device: 'cpu',
    threads: 2,
    artifact: 'run/factory/v1',
    ...extra,
  });

  before(async () => {
    assert.ok(existsSync(TRAIN_PYTHON), `${TRAIN_PYTHON} is missing: run scripts/setup.sh (it makes .venv-llm with TRL and PEFT)`);
    dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-dpo-'));
    backend = await startLocalBackend({ script: path.join(repoRoot, 'out', 'backend.js'), clientVersion: 'test', journalDir: path.join(dir, 'journal'), artifactsDir: path.join(dir, 'artifacts') });
    // The demo's own DPO settings (demo.run.json), with a checkpoint every step for the kill test.
    const demoConfig = await readRunConfig(path.join(demo, 'demo.run.json'));
    assert.ok(demoConfig.factory.kind === 'llm');
    hyperparameters = { ...dpoHyperparameters(demoConfig.factory.refine, 0), checkpointSteps: 1 };
    // Preference pairs from the writer's own samples: a completion with its code (chosen) over
    // the same completion cut after its first line (rejected).
    const generated = await backend.generate({
      jobId: 'writer-samples',
      generator: { kind: 'engine', model: demoModel('writer'), chat: 'auto' },
      prompt: readFileSync(path.join(demo, 'prompts', 'writer.md'), 'utf8').replace('{{examples}}', '').replace('{{worked_example}}', readFileSync(path.join(demo, 'prompts', 'worked_example.py'), 'utf8')),
      n: 24,
      sampling: { temperature: 1, topP: 1, maxTokens: 160, seed: 7, stop: [] },
    });
    const good = generated.completions.filter((c) => extractAlgorithm(c.text).ok);
    assert.ok(good.length >= 16, `${good.length} of 24 samples hold code`);
    rows = good.slice(0, 16).map((c) => ({ prompt: generated.promptText, chosen: c.text, rejected: c.text.split('\n')[0] + '\n' }));
  });
  after(async () => {
    await backend?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trains with progress, publishes adapter and merged weights under their hash, and raises the held-out margin', async () => {
    const progress: RefineProgressParams[] = [];
    const r = await backend.refine(params(), { onProgress: (p) => progress.push(p) });
    const train = progress.filter((p) => p.phase === 'train');
    assert.ok(train.length >= 2, 'a progress notification per step');
    assert.ok(train.every((p) => p.steps === train[0].steps && Number.isFinite(p.loss)));
    assert.deepEqual([...new Set(progress.map((p) => p.phase))].sort(), ['evaluate', 'load', 'save', 'train']);
    assert.equal(r.artifact, `run/factory/v1-${r.weightHash.slice(0, 12)}`);
    const folder = path.join(dir, 'artifacts', 'run', 'factory', `v1-${r.weightHash.slice(0, 12)}`);
    assert.equal(await folderHash(path.join(folder, 'merged')), r.weightHash, 'the hash is of the published files');
    assert.equal(await folderHash(path.join(folder, 'adapter')), r.adapterHash);
    assert.deepEqual(readdirSync(folder).sort(), ['adapter', 'merged', 'metrics.json']);
    assert.ok(!readdirSync(path.join(dir, 'artifacts', 'run', 'factory')).some((f) => f.includes('staging') || f.includes('.tmp')), 'no staging folder left');
    const m = r.metrics;
    assert.equal(m.train.pairs, 12);
    assert.equal(m.heldOut!.pairs, 4);
    console.log(`held-out margin before ${m.heldOut!.before.meanMargin.toFixed(3)}, after ${m.heldOut!.after.meanMargin.toFixed(3)}; loss ${m.train.lossFirst} -> ${m.train.lossLast}`);
    assert.ok(m.heldOut!.after.meanMargin > m.heldOut!.before.meanMargin, 'DPO raised the held-out chosen-vs-rejected margin');
    assert.equal(m.versions.trl, '1.16.0');
  });

  it('generates with the refined weights in the engine, whose logits match transformers on them', async () => {
    const r = await backend.refine(params());
    assert.equal(r.fromJournal, true, 'the same job is answered from the journal');
    const merged = path.join(dir, 'artifacts', ...r.artifact.split('/'), 'merged');
    const out = mkdtempSync(path.join(os.tmpdir(), 'selfdev-merged-logits-'));
    execFileSync(TRAIN_PYTHON, [path.join(repoRoot, 'test', 'fixtures', 'engine', 'folder_logits.py'), out, `merged=${merged}`, `writer=${demoModel('writer')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const refs = JSON.parse(readFileSync(path.join(out, 'reference.json'), 'utf8')) as Record<string, { vocab: number; cases: { ids: number[]; logits: number[] }[] }>;
    const ds = await createDecoderSession(await openHfModel(merged), { maxContext: 64, allLogits: true });
    try {
      let changed = 0;
      for (const [k, c] of refs.merged.cases.entries()) {
        const { state, out: o } = await DecoderState.prefill(ds, [c.ids], 0, true);
        state.dispose();
        let worst = 0;
        for (let i = 0; i < c.logits.length; i++) worst = Math.max(worst, Math.abs(o.logits![i] - c.logits[i]));
        assert.ok(worst < 1e-4, `prompt of ${c.ids.length} tokens differs from transformers by ${worst}`);
        const base = refs.writer.cases[k].logits;
        changed = Math.max(changed, ...c.logits.map((x, i) => Math.abs(x - base[i])));
      }
      assert.ok(changed > 1e-4, 'the refined weights differ from the writer');
    } finally {
      await ds.release();
    }
    const g = await backend.generate({ jobId: 'refined-samples', generator: { kind: 'engine', model: demoModel('writer'), chat: 'auto', weights: r.artifact }, prompt: rows[0].prompt.replace(/^<s>/, ''), n: 2, sampling: { temperature: 1, topP: 1, maxTokens: 32, seed: 1, stop: [] } });
    assert.equal(g.model, 'merged', 'the refined weights wrote');
    assert.equal(g.completions.length, 2);
  });

  it('publishes nothing when cancelled mid-training, and the same job then completes', async () => {
    const controller = new AbortController();
    const p = params({ jobId: 'run/refine/2/cancel', artifact: 'run/factory/v2', base: { model: demoModel('writer') }, hyperparameters: { ...hyperparameters, seed: 1 } });
    await assert.rejects(
      backend.refine(p, { signal: controller.signal, onProgress: (x) => x.phase === 'train' && x.step >= 2 && controller.abort() }),
      /cancel/i,
    );
    const factoryDir = path.join(dir, 'artifacts', 'run', 'factory');
    assert.ok(!readdirSync(factoryDir).some((f) => f.startsWith('v2-')), 'no v2 artifact after a cancelled training');
    const r = await backend.refine(p);
    assert.match(r.artifact, /^run\/factory\/v2-[0-9a-f]{12}$/);
    assert.ok(existsSync(path.join(factoryDir, r.artifact.split('/').at(-1)!, 'metrics.json')));
  });

  it('says what is wrong with a base model that is not there, and refuses names that leave the artifacts folder', async () => {
    await assert.rejects(backend.refine(params({ jobId: 'x1', base: { artifact: 'run/factory/v9-000000000000' } })), /refined generator run\/factory\/v9-000000000000 is missing or incomplete/);
    await assert.rejects(backend.refine(params({ jobId: 'x2', artifact: '../escape' })), /not a usable artifact name/);
    await assert.rejects(backend.refine(params({ jobId: 'x3', base: { model: path.join(dir, 'no-such-model') } })), /bad_input|not found|does not exist/i);
  });
});
