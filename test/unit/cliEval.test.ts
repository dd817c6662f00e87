import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
    const badConfig = path.join(dir, 'bad.selfdev.json');
    writeFileSync(badConfig, JSON.stringify({ seed: 'm', benchmarks: { gsm: { answer: 'gsm8k' } } }));
    assert.match(selfdev('eval', '--benchmark', badConfig).err, /bad\.selfdev\.json: benchmarks\.gsm\.dev: expected a non-empty string/);
  });
});
