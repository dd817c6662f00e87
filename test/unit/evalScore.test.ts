import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootstrapInterval, sampleSubset, scoreCompletions, seededRandom, type BenchmarkItem } from '../../src/engine/eval';

const pattern = (n: number, hits: number) => Array.from({ length: n }, (_, i) => i < hits);

describe('seededRandom', () => {
  it('repeats for a seed, differs between seeds, stays in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      xs,
      Array.from({ length: 1000 }, () => b()),
    );
    assert.notEqual(seededRandom(43)(), xs[0]);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  });
});

describe('bootstrapInterval', () => {
  it('is deterministic for a seed and brackets the accuracy', () => {
    const correct = pattern(100, 70);
    const a = bootstrapInterval(correct);
    assert.deepEqual(bootstrapInterval(correct), a);
    assert.equal(a.level, 0.95);
    assert.ok(a.low < 0.7 && 0.7 < a.high, JSON.stringify(a));
  });

  it('has about the width of the normal approximation', () => {
    // p = 0.5, n = 400: standard error 0.025, so about 0.45 .. 0.55.
    const { low, high } = bootstrapInterval(pattern(400, 200), { resamples: 4000, seed: 7 });
    assert.ok(Math.abs(low - 0.451) < 0.012, `low ${low}`);
    assert.ok(Math.abs(high - 0.549) < 0.012, `high ${high}`);
  });

  it('narrows with more items and widens with the level', () => {
    const small = bootstrapInterval(pattern(50, 25));
    const large = bootstrapInterval(pattern(2000, 1000));
    assert.ok(large.high - large.low < (small.high - small.low) / 3);
    const l90 = bootstrapInterval(pattern(100, 50), { level: 0.9 });
    const l99 = bootstrapInterval(pattern(100, 50), { level: 0.99 });
    assert.ok(l99.high - l99.low > l90.high - l90.low);
    assert.equal(l90.level, 0.9);
  });

  it('depends on the seed and the resamples', () => {
    const c = pattern(60, 20);
    assert.notDeepEqual(bootstrapInterval(c, { seed: 1 }), bootstrapInterval(c, { seed: 2 }));
    assert.deepEqual(bootstrapInterval(c, { seed: 3, resamples: 300 }), bootstrapInterval([...c], { seed: 3, resamples: 300 }));
    const one = bootstrapInterval(c, { resamples: 1 }); // one resample: a single accuracy
    assert.equal(one.low, one.high);
  });

  it('gives a point interval when all or none are correct', () => {
    assert.deepEqual(bootstrapInterval(pattern(10, 10)), { low: 1, high: 1, level: 0.95 });
    assert.deepEqual(bootstrapInterval(pattern(10, 0)), { low: 0, high: 0, level: 0.95 });
  });

  it('refuses nothing to resample and bad options', () => {
    assert.throws(() => bootstrapInterval([]), /no items/);
    assert.throws(() => bootstrapInterval([true], { resamples: 0 }), RangeError);
    assert.throws(() => bootstrapInterval([true], { level: 1 }), RangeError);
  });
});

const gsm = (n: number, gold: string): BenchmarkItem => ({ id: `g:${n}`, question: `q${n}`, solution: `#### ${gold}`, gold, kind: 'gsm8k' });
const math = (n: number, gold: string): BenchmarkItem => ({ id: `m:${n}`, question: `p${n}`, solution: `\\boxed{${gold}}`, gold, kind: 'boxed' });

describe('scoreCompletions', () => {
  it('keeps one record per item with prompt, completion, extraction, gold and decision', () => {
    const items = [gsm(1, '26'), gsm(2, '7'), math(3, '\\frac{1}{2}'), math(4, '58')];
    const prompts = ['P1', 'P2', 'P3', 'P4'];
    const completions = [' 46-20=26.\n#### 26', ' 3+3=6.\n#### 6', ' \\boxed{0.5}', ' 48+10=58.'];
    const report = scoreCompletions(items, prompts, completions, { resamples: 200, seed: 1 });
    assert.deepEqual(report.records, [
      { id: 'g:1', prompt: 'P1', completion: completions[0], extracted: '26', gold: '26', correct: true },
      { id: 'g:2', prompt: 'P2', completion: completions[1], extracted: '6', gold: '7', correct: false },
      { id: 'm:3', prompt: 'P3', completion: completions[2], extracted: '0.5', gold: '\\frac{1}{2}', correct: true },
      { id: 'm:4', prompt: 'P4', completion: completions[3], extracted: undefined, gold: '58', correct: false },
    ]);
    assert.equal(report.n, 4);
    assert.equal(report.correct, 2);
    assert.equal(report.accuracy, 0.5);
    assert.deepEqual(report.interval, bootstrapInterval([true, false, true, false], { resamples: 200, seed: 1 }));
  });

  it('passes the extraction option through', () => {
    const report = scoreCompletions([gsm(1, '26')], ['P'], ['The answer is 26.'], { extraction: 'flexible' });
    assert.equal(report.correct, 1);
    assert.equal(scoreCompletions([gsm(1, '26')], ['P'], ['The answer is 26.']).correct, 0);
  });

  it('refuses lists of different lengths and nothing to score', () => {
    assert.throws(() => scoreCompletions([gsm(1, '1')], [], ['x']), /1 items need as many prompts and completions; got 0 prompts and 1 completions/);
    assert.throws(() => scoreCompletions([], [], []), /no items/);
  });
});

describe('sampleSubset', () => {
  const types = ['Algebra', 'Geometry', 'Prealgebra'];
  const items: BenchmarkItem[] = Array.from({ length: 30 }, (_, i) => ({ ...math(i, '1'), type: types[i < 20 ? i % 2 : 2] }));

  it('is deterministic for a seed, in file order, without repeats', () => {
    const a = sampleSubset(items, 10, { seed: 5 });
    assert.deepEqual(sampleSubset(items, 10, { seed: 5 }), a);
    assert.notDeepEqual(sampleSubset(items, 10, { seed: 6 }), a);
    assert.equal(new Set(a).size, 10);
    const positions = a.map((x) => items.indexOf(x));
    assert.deepEqual(positions, [...positions].sort((x, y) => x - y));
  });

  it('takes equal shares per type when stratified', () => {
    const a = sampleSubset(items, 9, { seed: 1, stratify: 'type' });
    const count = (t: string) => a.filter((x) => x.type === t).length;
    assert.deepEqual(types.map(count), [3, 3, 3]);
  });

  it('gives everything when asked for more than there is', () => {
    assert.equal(sampleSubset(items, 100, { seed: 1, stratify: 'type' }).length, 30);
    assert.equal(sampleSubset(items, 0, { seed: 1 }).length, 0);
  });
});
