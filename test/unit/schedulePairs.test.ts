import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectPairs, type Scored } from '../../src/core/pairs';
import { DEFAULT_SCHEDULE, temperatureAt } from '../../src/core/schedule';

describe('temperature schedule', () => {
  it("follows the paper's 1.2, 1.0, 0.857", () => {
    assert.deepEqual([1, 2, 3].map((t) => Number(temperatureAt(DEFAULT_SCHEDULE, t).toFixed(3))), [1.2, 1, 0.857]);
  });
  it('offers a linear schedule with a floor', () => {
    const s = { kind: 'linear' as const, start: 1, decay: 0.4, floor: 0.3 };
    assert.deepEqual([1, 2, 3].map((t) => Number(temperatureAt(s, t).toFixed(3))), [1, 0.6, 0.3]);
  });
  it('refuses iteration 0', () => {
    assert.throws(() => temperatureAt(DEFAULT_SCHEDULE, 0), /numbered from 1/);
  });
});

function iteration(t: number, scores: (number | undefined)[]): Scored[] {
  return scores.map((score, i) => ({ id: `i${t}a${String(i).padStart(3, '0')}`, score, iteration: t }));
}

describe('preference pairs', () => {
  const policy = { chosenTop: 0.03, rejectedBottom: 0.1, elitism: 3, failedAsRejected: false, minEach: 1 };

  it('pairs the top 3% with the bottom 10%', () => {
    const algos = iteration(1, Array.from({ length: 100 }, (_, i) => i / 100));
    const pairs = selectPairs(algos, 1, policy);
    const chosen = new Set(pairs.map((p) => p.chosen));
    const rejected = new Set(pairs.map((p) => p.rejected));
    assert.deepEqual([...chosen].sort(), ['i1a097', 'i1a098', 'i1a099']);
    assert.equal(rejected.size, 10);
    assert.ok([...rejected].every((id) => Number(id.slice(-3)) < 10));
    assert.equal(pairs.length, 30);
    assert.ok(pairs.every((p) => p.chosenScore > p.rejectedScore!));
  });

  it('keeps at least one of each in small iterations and never pairs equal scores', () => {
    const pairs = selectPairs(iteration(1, [0.5, 0.2, 0.5, undefined]), 1, policy);
    assert.deepEqual(pairs.map((p) => [p.chosen, p.rejected]), [['i1a000', 'i1a001']]);
    assert.deepEqual(selectPairs(iteration(1, [0.3, 0.3]), 1, policy), []);
    assert.deepEqual(selectPairs(iteration(1, [0.3]), 1, policy), []);
    // The same mean reached from other per-benchmark accuracies differs in the last bits.
    const a = (7 / 24 + 7 / 24) / 2;
    const b = (8 / 24 + 6 / 24) / 2;
    assert.notEqual(a, b);
    assert.deepEqual(selectPairs(iteration(1, [a, b]), 1, policy), []);
  });

  it('adds the elite of earlier iterations and leaves vetoed algorithms out', () => {
    const earlier = iteration(1, [0.9, 0.8, 0.7, 0.6, 0.1]);
    earlier[0].vetoed = true;
    const now = iteration(2, [0.5, 0.4, 0.3, 0.2]);
    const pairs = selectPairs([...earlier, ...now], 2, policy);
    const chosen = [...new Set(pairs.map((p) => p.chosen))].sort();
    assert.deepEqual(chosen, ['i1a001', 'i1a002', 'i1a003', 'i2a000']);
    assert.ok(!pairs.some((p) => p.chosen === 'i1a000' || p.rejected === 'i1a000'));
    assert.ok(pairs.every((p) => p.rejected === 'i2a003'));
    assert.match(pairs.find((p) => p.chosen === 'i1a001')!.why, /elite of iteration 1/);
  });

  it('can count failed algorithms as rejected', () => {
    const pairs = selectPairs(iteration(1, [0.5, 0.2, undefined]), 1, { ...policy, failedAsRejected: true });
    assert.deepEqual(pairs.map((p) => p.rejected).sort(), ['i1a001', 'i1a002']);
    assert.equal(pairs.find((p) => p.rejected === 'i1a002')!.rejectedScore, null);
  });
});
