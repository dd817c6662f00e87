import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import { benchmarkJobs, DEFAULT_MERGE_SCOPE, launcherInForce, LLM_REFINE_DEFAULTS, parseRunConfig, readRunConfig, RUN_CONFIG_FIELDS, RunConfigError, scoreSettings, upgradeStoredConfig } from '../../src/core/config/runConfig';
import { RunLoop } from '../../src/core/loop/runLoop';
import type { Run } from '../../src/core/store/runStore';
import { repoRoot } from '../harness/paths';

const schema = JSON.parse(readFileSync(path.join(repoRoot, 'resources', 'schema', 'run.schema.json'), 'utf8')) as { properties: Record<string, unknown> };
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const demoFile = path.join(repoRoot, 'resources', 'demo', 'demo.run.json');
const FILE = '/runs/x.selfdev.json';

const minimal = { seed: 'm/seed', candidates: ['m/a', 'm/b'], benchmarks: { gsm: { dev: 'd.jsonl' } } };

describe('run config', () => {
  it('reads the demo config, resolving paths against its folder', async () => {
    const c = await readRunConfig(demoFile);
    assert.equal(c.seed, path.join(repoRoot, 'resources', 'demo', 'models', 'seed'));
    assert.ok(c.candidates.length >= 3);
    assert.deepEqual(Object.keys(c.benchmarks).sort(), ['gsm', 'math']);
    assert.ok(validate(JSON.parse(readFileSync(demoFile, 'utf8'))), JSON.stringify(validate.errors));
  });

  it('keeps paths on the backend\'s machine ("backend:/...") as they are, and refuses relative ones', () => {
    const c = parseRunConfig({ ...minimal, seed: 'backend:/data/models/seed', candidates: ['backend:/data/models/a', 'm/b'], benchmarks: { gsm: { dev: 'backend:/data/gsm/../gsm/dev.jsonl' } } }, FILE);
    assert.equal(c.seed, '/data/models/seed');
    assert.deepEqual(c.candidates, ['/data/models/a', '/runs/m/b']);
    assert.equal(c.benchmarks.gsm.dev, '/data/gsm/dev.jsonl');
    assert.throws(() => parseRunConfig({ ...minimal, seed: 'backend:models/seed' }, FILE), (e: Error) => e instanceof RunConfigError && /"backend:models\/seed": a path on the backend's machine must be absolute/.test(e.message));
  });

  it("reads an LLM factory: the seed writes by default (the paper's setting), paths resolved, endpoint defaults filled", () => {
    const llm = parseRunConfig({ ...minimal, factory: { kind: 'llm' } }, FILE);
    assert.deepEqual(llm.factory, { kind: 'llm', generator: { kind: 'engine', model: 'seed', chat: 'auto' }, prompt: undefined, workedExample: undefined, examples: 0, topP: 1, maxTokens: 1024, stop: [], refine: LLM_REFINE_DEFAULTS });
    const local = parseRunConfig({ ...minimal, factory: { kind: 'llm', generator: { model: 'w' }, prompt: 'p.md', examples: 2, stop: ['```\n\n'] } }, FILE);
    assert.ok(local.factory.kind === 'llm' && local.factory.generator.kind === 'engine');
    assert.equal(local.factory.kind === 'llm' && local.factory.generator.kind === 'engine' && local.factory.generator.model, '/runs/w');
    assert.equal(local.factory.kind === 'llm' && local.factory.prompt, '/runs/p.md');
    const remote = { ...minimal, factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', model: 'qwen', apiKeyEnv: 'MY_KEY' } } };
    assert.deepEqual(parseRunConfig(remote, FILE).factory, {
      kind: 'llm',
      generator: { kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', model: 'qwen', api: 'chat', concurrency: 4, samplesPerRequest: 1, timeoutSeconds: 300, retries: 3, apiKeyEnv: 'MY_KEY' },
      prompt: undefined,
      workedExample: undefined,
      examples: 0,
      topP: 1,
      maxTokens: 1024,
      stop: [],
      refine: LLM_REFINE_DEFAULTS,
    });
    assert.ok(validate(remote), JSON.stringify(validate.errors));
  });

  it("refines the LLM factory with the paper's DPO settings by default, each one a field", () => {
    // The paper: LoRA rank 256, learning rate 1e-6, beta 0.01.
    assert.equal(LLM_REFINE_DEFAULTS.loraRank, 256);
    assert.equal(LLM_REFINE_DEFAULTS.learningRate, 1e-6);
    assert.equal(LLM_REFINE_DEFAULTS.beta, 0.01);
    assert.equal(LLM_REFINE_DEFAULTS.enabled, true);
    const tuned = { ...minimal, factory: { kind: 'llm', refine: { $comment: 'why', beta: 0.1, learningRate: 5e-4, epochs: 3, loraRank: 8, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'], heldOut: 0.25, lossType: 'ipo' } } };
    const r = parseRunConfig(tuned, FILE).factory;
    assert.ok(r.kind === 'llm');
    assert.deepEqual(r.refine, { ...LLM_REFINE_DEFAULTS, beta: 0.1, learningRate: 5e-4, epochs: 3, loraRank: 8, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'], heldOut: 0.25, lossType: 'ipo' });
    assert.ok(validate(tuned), JSON.stringify(validate.errors));
    const served = parseRunConfig({ ...minimal, factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: 'http://h/v1', model: 'm' }, refine: { baseModel: 'models/served' } } }, FILE).factory;
    assert.ok(served.kind === 'llm' && served.refine.baseModel === '/runs/models/served' && served.refine.publish === 'model-path');
  });

  it('lets any object say why in "$comment" (JSON has no comments), and the schema agrees', () => {
    const commented = { ...minimal, $comment: 'a run', pairs: { $comment: 'wider', chosenTop: 0.25 }, eval: { $comment: 'x', shots: 1 } };
    assert.equal(parseRunConfig(commented, FILE).pairs.chosenTop, 0.25);
    assert.ok(validate(commented), JSON.stringify(validate.errors));
  });

  it('reads an LLM run stored before refinement existed as not refined, so it continues as it ran', async () => {
    const c = parseRunConfig({ ...minimal, factory: { kind: 'llm' } }, FILE);
    const { refine: _gone, ...old } = c.factory as typeof c.factory & { refine: unknown };
    const upgraded = upgradeStoredConfig({ ...c, factory: old as typeof c.factory });
    assert.ok(upgraded.factory.kind === 'llm' && upgraded.factory.refine.enabled === false);
  });

  it("fills the paper's defaults", () => {
    const c = parseRunConfig(minimal, FILE);
    assert.equal(c.name, 'x');
    assert.equal(c.mergeScope, DEFAULT_MERGE_SCOPE);
    assert.deepEqual(c.temperature, { kind: 'inverse', start: 1.2, decay: 0.2, floor: undefined });
    assert.equal(c.pairs.chosenTop, 0.03);
    assert.equal(c.pairs.rejectedBottom, 0.1);
    assert.equal(c.pairs.elitism, 3);
    assert.equal(c.iterations, 3);
    assert.equal(c.finalists, 15);
    assert.equal(c.algorithmsPerIteration, 3000);
    assert.equal(c.seed, '/runs/m/seed');
    assert.ok(validate(minimal));
  });

  // The last element: whether the JSON schema can see the problem too (it cannot compile regexes).
  const bad: [string, unknown, RegExp, boolean?][] = [
    ['not an object', [], /expected a JSON object/],
    ['no seed', { ...minimal, seed: undefined }, /: seed: expected a non-empty string/],
    ['no candidates', { ...minimal, candidates: [] }, /candidates: expected a list of at least 1 model folder/],
    ['a bad regex', { ...minimal, mergeScope: '(' }, /mergeScope: not a valid regular expression/, false],
    ['a launcher without workers', { ...minimal, launcher: { kind: 'slurm' } }, /launcher\.workers: expected the number of workers/],
    ['an unknown launcher', { ...minimal, launcher: { kind: 'ray', workers: 2 } }, /launcher\.kind: expected "slurm", "processes" or "local"/],
    ['a launcher field misspelt', { ...minimal, launcher: { kind: 'slurm', workers: 2, partiton: 'gpu' } }, /launcher\.partiton: unknown field/],
    ['a Slurm time limit that is not one', { ...minimal, launcher: { kind: 'slurm', workers: 2, timeLimit: '4 hours' } }, /launcher\.timeLimit: expected Slurm's time format/],
    ['an sbatch option the launcher sets', { ...minimal, launcher: { kind: 'slurm', workers: 2, sbatchOptions: ['--array=0-99'] } }, /launcher\.sbatchOptions: --array is set by the launcher/, false],
    ['an unknown field', { ...minimal, iteratons: 3 }, /iteratons: unknown field/],
    ['a bad answer kind', { ...minimal, benchmarks: { gsm: { dev: 'd', answer: 'exact' } } }, /benchmarks\.gsm\.answer: expected one of "gsm8k", "boxed"/],
    ['a bad share', { ...minimal, pairs: { chosenTop: 2 } }, /pairs\.chosenTop: expected a number from 0 to 1/],
    ['a fractional count', { ...minimal, iterations: 1.5 }, /iterations: expected a whole number >= 1/],
    ['a prompt without the question', { ...minimal, eval: { prompt: 'Q:' } }, /eval\.prompt: must contain \{question\}/],
    ['an unknown tensor library', { ...minimal, tensorLibrary: 'jax' }, /tensorLibrary: expected one of "numpy", "torch"/],
    ['an unknown factory kind', { ...minimal, factory: { kind: 'gpt' } }, /factory\.kind: expected one of "grammar", "llm"/],
    ['LLM settings on the grammar factory', { ...minimal, factory: { kind: 'grammar', topP: 0.9 } }, /factory\.topP: unknown field/, false],
    ['an API key in the config', { ...minimal, factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: 'http://h/v1', model: 'm', apiKey: 'sk-123' } } }, /factory\.generator\.apiKey: keys never go in a config file/],
    ['credentials in the endpoint URL', { ...minimal, factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: 'http://u:p@h/v1', model: 'm' } } }, /factory\.generator\.baseUrl: no credentials in the URL/, false],
    ['an endpoint that is not http', { ...minimal, factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: 'ftp://h/v1', model: 'm' } } }, /factory\.generator\.baseUrl: expected an http\(s\) URL/],
    ['a key where the variable name goes', { ...minimal, factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: 'http://h/v1', model: 'm', apiKeyEnv: 'sk-abc-123' } } }, /factory\.generator\.apiKeyEnv: expected the name of an environment variable/],
    ['an openai generator without a model', { ...minimal, factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: 'http://h/v1' } } }, /factory\.generator\.model: expected a non-empty string/, false],
    ['an engine field on an openai generator', { ...minimal, factory: { kind: 'llm', generator: { kind: 'openai', baseUrl: 'http://h/v1', model: 'm', chat: 'auto' } } }, /factory\.generator\.chat: unknown field/, false],
    ['a top-p of 0', { ...minimal, factory: { kind: 'llm', topP: 0 } }, /factory\.topP: expected a number from 0\.01 to 1/],
    ['an unknown DPO setting', { ...minimal, factory: { kind: 'llm', refine: { lr: 1e-4 } } }, /factory\.refine\.lr: unknown field/],
    ['a negative learning rate', { ...minimal, factory: { kind: 'llm', refine: { learningRate: -1 } } }, /factory\.refine\.learningRate: expected a number/],
    ['a LoRA rank of 0', { ...minimal, factory: { kind: 'llm', refine: { loraRank: 0 } } }, /factory\.refine\.loraRank: expected a whole number >= 1/],
    ['an unknown DPO loss', { ...minimal, factory: { kind: 'llm', refine: { lossType: 'kto' } } }, /factory\.refine\.lossType: expected one of/],
    ['a held-out share of 1', { ...minimal, factory: { kind: 'llm', refine: { heldOut: 1 } } }, /factory\.refine\.heldOut: expected a number from 0 to 0\.9/],
    ['empty target modules', { ...minimal, factory: { kind: 'llm', refine: { targetModules: [] } } }, /factory\.refine\.targetModules: expected "all-linear" or a list/],
    ['a served base model on an engine generator', { ...minimal, factory: { kind: 'llm', refine: { baseModel: 'm' } } }, /factory\.refine\.baseModel: only for an openai generator/, false],
    ['refinement settings on the grammar factory', { ...minimal, factory: { kind: 'grammar', refine: {} } }, /factory\.refine: unknown field/, false],
  ];
  for (const [what, json, message, schemaSees = true] of bad) {
    it(`names the field for ${what}`, () => {
      assert.throws(() => parseRunConfig(json, FILE), (err: unknown) => err instanceof RunConfigError && message.test(err.message) && err.message.startsWith(FILE));
      if (schemaSees) assert.equal(validate(json), false, `the schema should reject ${what} too`);
    });
  }

  it('reports every problem at once, each with its field', () => {
    const json = { ...minimal, nme: 'x', iterations: 0, benchmarks: { gsm: { dev: 'd.jsonl', answer: 'latex' } }, eval: { stop: [''] }, pairs: { elitism: -1 } };
    assert.throws(
      () => parseRunConfig(json, FILE),
      (err: unknown) => {
        assert.ok(err instanceof RunConfigError);
        assert.deepEqual(err.problems.map((p) => p.field).sort(), ['benchmarks.gsm.answer', 'eval.stop', 'iterations', 'nme', 'pairs.elitism']);
        assert.match(err.message, new RegExp(`^${FILE}: 5 problems:\n`));
        assert.match(err.message, /iterations: expected a whole number >= 1/);
        return true;
      },
    );
  });

  it('says where each problem is: file:line:column of the field, or of the object missing it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-config-'));
    const file = path.join(dir, 'x.selfdev.json');
    writeFileSync(file, ['{', '  "candidates": ["a"],', '  "benchmarks": {"gsm": {"dev": "d.jsonl"}},', '  "iterations": "two",', '    "colour": 1', '}'].join('\n'));
    await assert.rejects(readRunConfig(file), (err: unknown) => {
      assert.ok(err instanceof RunConfigError);
      const at = Object.fromEntries(err.problems.map((p) => [p.field, [p.line, p.column]]));
      assert.deepEqual(at, { colour: [5, 5], iterations: [4, 3], seed: [1, 1] });
      assert.ok(err.message.includes(`${file}:4:3: iterations: expected a whole number >= 1`), err.message);
      return true;
    });
  });

  it('lists every JSON syntax error with its line and column', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-config-'));
    const file = path.join(dir, 'x.selfdev.json');
    writeFileSync(file, '{\n  "seed": "m/seed"\n  "candidates": ["a",],\n}\n');
    await assert.rejects(readRunConfig(file), (err: unknown) => {
      assert.ok(err instanceof RunConfigError);
      assert.ok(err.problems.length >= 2, err.message);
      assert.deepEqual(err.problems[0], { field: '', problem: 'not valid JSON: comma expected', line: 3, column: 3 });
      assert.ok(err.problems.every((p) => p.line && p.column && p.problem.startsWith('not valid JSON')), err.message);
      return true;
    });
  });

  it('reads a Slurm launcher with its defaults, and "local" as none', () => {
    const c = parseRunConfig({ ...minimal, launcher: { kind: 'slurm', workers: 8, partition: 'gpu', timeLimit: '04:00:00', sbatchOptions: ['--account=lab'] } }, FILE);
    assert.deepEqual(c.launcher, { kind: 'slurm', workers: 8, gpusPerWorker: 1, leaseSeconds: 120, partition: 'gpu', timeLimit: '04:00:00', sbatchOptions: ['--account=lab'] });
    assert.equal(parseRunConfig({ ...minimal, launcher: 'local' }, FILE).launcher, undefined);
    assert.equal(parseRunConfig(minimal, FILE).launcher, undefined);
    assert.equal(parseRunConfig({ ...minimal, launcher: { kind: 'processes', workers: 2 } }, FILE).launcher?.gpusPerWorker, 0);
    assert.ok(validate({ ...minimal, launcher: { kind: 'slurm', workers: 8, partition: 'gpu', timeLimit: '04:00:00' } }));
    assert.ok(validate({ ...minimal, launcher: 'local' }));
    // The CLI's or the setting's launcher wins; "local" turns the config's off.
    assert.equal(launcherInForce(c, 'local'), undefined);
    assert.equal(launcherInForce(c, undefined), c.launcher);
    assert.equal(launcherInForce(c, { kind: 'processes', workers: 1, gpusPerWorker: 0, leaseSeconds: 5 })?.kind, 'processes');
  });

  it('knows the same fields as the JSON schema', () => {
    assert.deepEqual(Object.keys(schema.properties).sort(), [...RUN_CONFIG_FIELDS].sort());
    assert.throws(() => parseRunConfig({ ...minimal, notInSchema: 1 }, FILE), /notInSchema: unknown field/);
  });

  it('maps a split to benchmark jobs in one place, with the GSM answer mode in the settings', async () => {
    const c = await readRunConfig(path.join(repoRoot, 'resources', 'demo', 'demo.run.json'));
    const dev = benchmarkJobs(c, 'dev');
    assert.deepEqual(dev.map((j) => [j.name, j.kind]), [['gsm', 'gsm8k'], ['math', 'boxed']]);
    assert.ok(dev.every((j) => path.isAbsolute(j.file) && j.file.includes('_dev')));
    assert.ok(benchmarkJobs(c, 'test').every((j) => j.limit === undefined && j.file.includes('_test')));
    assert.equal(scoreSettings(c).extraction, 'strict');
    assert.equal(scoreSettings({ eval: { ...c.eval, gsmAnswer: 'flexible' } }).extraction, 'flexible');
  });

  it('opens a run made before the GSM answer mode existed, reading it as strict', async () => {
    const c = await readRunConfig(path.join(repoRoot, 'resources', 'demo', 'demo.run.json'));
    const { gsmAnswer: _gone, ...oldEval } = c.eval;
    const header = { id: 'old', version: '0.1.0', config: { ...c, eval: oldEval } };
    const run = { read: async (f: string) => (f === 'run.json' ? JSON.stringify(header) : undefined), path: (f: string) => `/runs/old/${f}` } as unknown as Run;
    const loop = await RunLoop.open(run, { python: 'python3', algorithmsDir: '' });
    assert.equal(loop.config.eval.gsmAnswer, 'strict');
    assert.equal(loop.scorer.params().settings.extraction, 'strict');
  });
});
