import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stratifiedInterval } from '../../src/stats';
import { parseJsonl, RunFileError } from '../../src/core/run/records';
import { parseGrid } from '../../src/core/loop/baselines';

describe('run files', () => {
  it('drops a last line cut short by a crash, and says so', () => {
    let truncated = false;
    const rows = parseJsonl<{ a: number }>('{"a":1}\n{"a":2}\n{"a":', 'r.jsonl', () => (truncated = true));
    assert.deepEqual(rows, [{ a: 1 }, { a: 2 }]);
    assert.ok(truncated);
  });

  it('names the file and line of a damaged record', () => {
    assert.throws(
      () => parseJsonl('{"a":1}\n{"a": oops}\n{"a":3}\n', 'iterations/01/results.jsonl'),
      (err: unknown) => err instanceof RunFileError && /^iterations\/01\/results\.jsonl:2: not a valid record/.test(err.message),
    );
    assert.throws(() => parseJsonl('[1]\n"x"\n', 'f.jsonl'), /f\.jsonl:2: not a valid record/);
  });

  it('reads the coefficient grid of a baseline', () => {
    assert.deepEqual(parseGrid('X = 1\nGRID = {"A": [0.2, 0.4], "C": ["ties", True]}\n', 'b.py'), { A: [0.2, 0.4], C: ['ties', true] });
    assert.deepEqual(parseGrid('GRID = {}\n', 'b.py'), {});
    assert.throws(() => parseGrid('GRID = {"A": 1}\n', 'b.py'), /b\.py: GRID is not a one-line dict of lists/);
  });

  it('gives intervals that contain the score and narrow with more items', () => {
    const few = [Array.from({ length: 20 }, (_, i) => i % 2 === 0)];
    const many = [Array.from({ length: 400 }, (_, i) => i % 2 === 0)];
    const { low: a, high: b } = stratifiedInterval(few, { seed: 1 });
    const { low: c, high: d } = stratifiedInterval(many, { seed: 1 });
    assert.ok(a < 0.5 && 0.5 < b && c < 0.5 && 0.5 < d);
    assert.ok(d - c < (b - a) / 2);
    assert.deepEqual(stratifiedInterval(few, { resamples: 500, seed: 3 }), stratifiedInterval(few, { resamples: 500, seed: 3 }));
  });
});
