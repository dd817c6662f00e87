import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../harness/paths';

const demo = path.join(repoRoot, 'resources', 'demo');

function selfdev(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'out', 'cli.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('selfdev eval', () => {
  it('scores the seed on the demo config, with records and intervals in --json', () => {
    const r = selfdev('eval', '--benchmark', path.join(demo, 'demo.run.json'), '--limit', '12', '--json');
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    assert.equal(report.model, path.join(demo, 'models', 'seed'));
    assert.deepEqual(report.results.map((x: { name: string }) => x.name), ['gsm', 'math']);
    for (const res of report.results) {
      assert.equal(res.n, 12);
      assert.equal(res.records.length, 12);
      assert.equal(res.correct, res.records.filter((x: { correct: boolean }) => x.correct).length);
      assert.equal(res.accuracy, res.correct / 12);
      assert.ok(res.interval.low <= res.accuracy && res.accuracy <= res.interval.high);
      for (const rec of res.records) assert.match(rec.prompt, /^Question: .*\nAnswer:$/s);
    }
  });

  it('reads GSM answers strictly unless told otherwise, and says which mode it used', () => {
    const args = ['eval', '--benchmark', path.join(demo, 'demo.run.json'), '--limit', '12', '--json'];
    const strict = JSON.parse(selfdev(...args).out);
    const flexible = JSON.parse(selfdev(...args, '--gsm-answer', 'flexible').out);
    assert.equal(strict.gsmAnswer, 'strict');
    assert.equal(flexible.gsmAnswer, 'flexible');
    const gsm = (r: { results: { name: string; records: { completion: string; extracted?: string }[] }[] }) => r.results.find((x) => x.name === 'gsm')!.records;
    // Same completions; flexible reads an answer wherever strict finds none after ####.
    gsm(strict).forEach((rec, i) => {
      assert.equal(gsm(flexible)[i].completion, rec.completion);
      if (rec.extracted !== undefined) assert.equal(gsm(flexible)[i].extracted, rec.extracted);
    });
  });

  it('prints one line per benchmark', () => {
    const r = selfdev('eval', '--model', path.join(demo, 'models', 'seed'), '--benchmark', path.join(demo, 'data', 'math_dev.jsonl'), '--limit', '5', '--max-new-tokens', '48');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^math_dev\s+dev\s+5 items\s+accuracy \d+\.\d% {2}95% CI \[\d+\.\d, \d+\.\d\]/);
  });

  it('exits 2 on usage errors and 1 on bad inputs, naming the problem', () => {
    assert.equal(selfdev('eval').code, 2);
    assert.match(selfdev('eval', '--benchmark', 'x.jsonl').err, /--model is required/);
    assert.match(selfdev('eval', '--benchmark', 'x.jsonl', '--model', 'm', '--shots', '3').err, /--shots needs --fewshot/);
    const missing = selfdev('eval', '--benchmark', path.join(demo, 'data', 'gsm_dev.jsonl'), '--model', '/nonexistent/model');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /\/nonexistent\/model: model folder not found/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-cli-eval-'));
    const empty = path.join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    const r = selfdev('eval', '--benchmark', empty, '--model', path.join(demo, 'models', 'seed'));
    assert.equal(r.code, 1);
    assert.match(r.err, /empty\.jsonl/);
    // One parser for `selfdev eval` and `selfdev new`: what one refuses, the other refuses too.
    const demoConfig = JSON.parse(readFileSync(path.join(demo, 'demo.run.json'), 'utf8'));
    const rel = (p: string) => path.resolve(demo, p);
    const absolute = { ...demoConfig, seed: rel(demoConfig.seed), candidates: demoConfig.candidates.map(rel), transfer: undefined,
      benchmarks: Object.fromEntries(Object.entries(demoConfig.benchmarks as Record<string, Record<string, string>>).map(([k, b]) => [k, { ...b, dev: rel(b.dev), test: rel(b.test) }])) };
    type Cfg = { benchmarks: { math: Record<string, unknown> }; eval: Record<string, unknown> };
    for (const [change, message] of [
      [(c: Cfg) => (c.benchmarks.math.answer = 'math'), /benchmarks\.math\.answer: expected one of "gsm8k", "boxed"/],
      [(c: Cfg) => (c.eval.foo = 1), /eval\.foo: unknown field/],
      [(c: Cfg) => (c.eval.gsmAnswer = 'loose'), /eval\.gsmAnswer: expected one of "strict", "flexible"/],
    ] as const) {
      const c = structuredClone(absolute) as Cfg;
      change(c);
      const file = path.join(dir, 'changed.selfdev.json');
      writeFileSync(file, JSON.stringify(c));
      const asEval = selfdev('eval', '--benchmark', file);
      const asNew = selfdev('new', file, '--runs', path.join(dir, 'runs'));
      assert.equal(asEval.code, 1);
      assert.equal(asNew.code, 1);
      assert.match(asEval.err, message);
      assert.match(asNew.err, message);
    }
    assert.equal(selfdev('eval', '--benchmark', path.join(demo, 'demo.run.json'), '--gsm-answer', 'loose').code, 2);
    const badConfig = path.join(dir, 'bad.selfdev.json');
    writeFileSync(badConfig, JSON.stringify({ seed: 'm', benchmarks: { gsm: { answer: 'gsm8k' } } }));
    assert.match(selfdev('eval', '--benchmark', badConfig).err, /bad\.selfdev\.json:\d+:\d+: benchmarks\.gsm\.dev: expected a non-empty string/);
  });
});
