// The engine's checker against the demo's own evaluation (resources/demo/train/evaluate.py),
// which decided the accuracies recorded in resources/demo/measured.json. evaluate.py is run
// for real (test/fixtures/eval/demo_reference.py), so a change to its rules shows up here.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { buildPrompt, checkAnswer, loadBenchmark, type BenchmarkItem, type PromptFormat } from '../../src/engine/eval';
import { repoRoot } from '../harness/paths';

const PYTHON = process.env.SELFDEV_PYTHON ?? 'python3';
const demo = path.join(repoRoot, 'resources', 'demo');
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'eval');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'selfdev-unit-eval-demo-'));

type Raw = Record<string, unknown>;
interface Judged {
  prompts: string[];
  gold: (string | null)[];
  pred: (string | null)[];
  correct: boolean[];
}

/** evaluate.py's prompts and decisions for these items and completions. */
function judge(items: Raw[], completions: string[], exemplars: Raw[] = []): Judged {
  const job = { evaluate: path.join(demo, 'train', 'evaluate.py'), items, completions, exemplars };
  const r = spawnSync(PYTHON, [path.join(fixtures, 'demo_reference.py')], {
    input: JSON.stringify(job),
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `demo_reference.py failed: ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout) as Judged;
}

const readJsonl = (file: string): Raw[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Raw);

/** BenchmarkItems of raw records, through loadBenchmark (GSM and MATH records may be mixed). */
async function itemsOf(raws: Raw[], name: string): Promise<BenchmarkItem[]> {
  const out: BenchmarkItem[] = new Array(raws.length);
  for (const isGsm of [true, false]) {
    const idx = raws.map((r, i) => ('question' in r === isGsm ? i : -1)).filter((i) => i >= 0);
    if (!idx.length) continue;
    const file = path.join(tmp, `${name}-${isGsm ? 'gsm' : 'math'}.jsonl`);
    writeFileSync(file, idx.map((i) => JSON.stringify(raws[i])).join('\n') + '\n');
    const items = await loadBenchmark(file);
    idx.forEach((i, k) => (out[i] = items[k]));
  }
  return out;
}

const demoEval = (JSON.parse(readFileSync(path.join(demo, 'demo.run.json'), 'utf8')) as { eval: PromptFormat }).eval;
const format: PromptFormat = { prompt: demoEval.prompt, exemplar: demoEval.exemplar, shots: demoEval.shots };

/** Asserts the same gold, prompt and decision as evaluate.py for every completion. */
async function assertAgreement(raws: Raw[], completions: string[], name: string): Promise<Judged> {
  const items = await itemsOf(raws, name);
  const ref = judge(raws, completions);
  items.forEach((item, i) => {
    const what = `${name} #${i} ${JSON.stringify(completions[i])}`;
    assert.equal(item.gold, ref.gold[i], `gold of ${what}`);
    assert.equal(buildPrompt(item, [], format), ref.prompts[i], `prompt of ${what}`);
    const { correct } = checkAnswer(item.kind, completions[i], item.gold);
    assert.equal(correct, ref.correct[i], `decision on ${what} (evaluate.py read ${ref.pred[i]})`);
  });
  return ref;
}

describe('agreement with the demo\'s evaluate.py', () => {
  it('on the demo seed model\'s completions of every dev item', async () => {
    const rows = readJsonl(path.join(fixtures, 'demo_seed_completions.jsonl'));
    assert.equal(rows.length, 160);
    await assertAgreement(
      rows.map((r) => r.item as Raw),
      rows.map((r) => r.completion as string),
      'seed',
    );
  });

  it('on hand-made completions at the edges of the answer rules', async () => {
    const rows = readJsonl(path.join(fixtures, 'demo_crafted_completions.jsonl'));
    const raws = rows.map((r) => r.item as Raw);
    const completions = rows.map((r) => r.completion as string);
    const decisions = (await assertAgreement(raws, completions, 'crafted')).correct;
    // Both kinds of decision are exercised.
    assert.ok(decisions.filter(Boolean).length >= 8 && decisions.filter((c) => !c).length >= 8);
  });

  it('builds the same k-shot prompts from the demo\'s few-shot sets', async () => {
    for (const [bench, data] of [
      ['fewshot_gsm', 'gsm_dev'],
      ['fewshot_math', 'math_dev'],
    ]) {
      const exemplarRaws = readJsonl(path.join(demo, 'data', `${bench}.jsonl`));
      const raws = readJsonl(path.join(demo, 'data', `${data}.jsonl`)).slice(0, 5);
      const exemplars = await loadBenchmark(path.join(demo, 'data', `${bench}.jsonl`));
      const items = await itemsOf(raws, `${data}-kshot`);
      const ref = judge(raws, raws.map(() => ''), exemplarRaws);
      const kShot = { ...format, shots: exemplars.length };
      items.forEach((item, i) => assert.equal(buildPrompt(item, exemplars, kShot), ref.prompts[i], `${data} #${i}`));
    }
  });

  // Where this checker is deliberately more lenient than evaluate.py: equal answers written
  // differently. None of these occur in the demo models' completions (the tests above).
  const divergences: [Raw, string][] = [
    [{ question: 'q', answer: '#### 26' }, '#### 26.0'],
    [{ question: 'q', answer: '#### 26' }, '#### $26'],
    [{ question: 'q', answer: '#### 26' }, '#### +26'],
    [{ problem: 'p', solution: '\\boxed{58}' }, '\\boxed{58.0}'],
    [{ problem: 'p', solution: '\\boxed{58}' }, '\\boxed{{58}}'],
    [{ problem: 'p', solution: '\\boxed{58}' }, '\\boxed 58'],
    [{ problem: 'p', solution: '\\boxed{58}' }, '\\fbox{58}'],
    [{ problem: 'p', solution: '\\boxed{58}' }, '\\boxed{x = 58}'],
  ];
  it('differs only where it accepts an equal answer written differently', async () => {
    const raws = divergences.map(([r]) => r);
    const completions = divergences.map(([, c]) => c);
    const items = await itemsOf(raws, 'divergent');
    const ref = judge(raws, completions);
    items.forEach((item, i) => {
      assert.equal(ref.correct[i], false, `evaluate.py rejects ${completions[i]}`);
      assert.equal(checkAnswer(item.kind, completions[i], item.gold).correct, true, `the engine accepts ${completions[i]}`);
    });
  });
});

interface Measured {
  models: Record<string, Record<string, number>>;
  dev_items: Record<string, Record<string, (string | { completion: string; correct?: boolean })[]>>;
}

describe('agreement with resources/demo/measured.json', () => {
  const measuredFile = path.join(demo, 'measured.json');
  it('gives every recorded dev completion the recorded decision and accuracy', async (t) => {
    if (!existsSync(measuredFile)) {
      t.skip('resources/demo/measured.json is not there yet (build_demo.py --stages measure writes it)');
      return;
    }
    const measured = JSON.parse(readFileSync(measuredFile, 'utf8')) as Measured;
    let checked = 0;
    for (const [model, splits] of Object.entries(measured.dev_items)) {
      for (const [split, recorded] of Object.entries(splits)) {
        const raws = readJsonl(path.join(demo, 'data', `${split}.jsonl`));
        assert.equal(recorded.length, raws.length, `${model} ${split}: one completion per item`);
        const completions = recorded.map((r) => (typeof r === 'string' ? r : r.completion));
        const items = await itemsOf(raws, `${model}-${split}`);
        const ref = judge(raws, completions);
        let hits = 0;
        items.forEach((item, i) => {
          const mine = checkAnswer(item.kind, completions[i], item.gold).correct;
          // A decision recorded next to the completion wins; otherwise evaluate.py decides.
          const entry = recorded[i];
          const want = typeof entry === 'object' && entry.correct !== undefined ? entry.correct : ref.correct[i];
          assert.equal(mine, want, `${model} ${split} item ${item.id}: ${JSON.stringify(completions[i])}`);
          if (mine) hits++;
        });
        // measured.json rounds to one decimal (Python's round); allow exactly that.
        const accuracy = (100 * hits) / items.length;
        const recordedAccuracy = measured.models[model][split];
        const what = `${model} ${split} accuracy ${accuracy} vs recorded ${recordedAccuracy}`;
        assert.ok(Math.abs(accuracy - recordedAccuracy) <= 0.05 + 1e-9, what);
        checked += items.length;
      }
    }
    assert.ok(checked > 0, 'measured.json records dev completions');
  });
});
