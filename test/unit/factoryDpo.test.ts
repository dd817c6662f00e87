import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type FactoryState,
  type PreferencePair,
  DEFAULT_REFINE_OPTIONS,
  buildTrace,
  dpoObjective,
  initialFactory,
  logProbability,
  programFromTrace,
  refineWithDpo,
  sampleAlgorithms,
  softmax,
} from '../../src/core/factory';

const COMBINE_OPS = ['sum', 'mean', 'ties', 'magnitude_weighted', 'stat_weighted', 'fold', 'max_magnitude', 'median', 'agreement'];
const pFold = (state: FactoryState): number => softmax(state.logits['combine.op'])[COMBINE_OPS.indexOf('fold')];

/** Pairs whose chosen programs fold and whose rejected programs do not. */
function foldPairs(): PreferencePair[] {
  const samples = sampleAlgorithms(initialFactory(), 300, 1.0, 5);
  const fold = samples.filter((s) => programFromTrace(s.trace).combine.op === 'fold');
  const other = samples.filter((s) => programFromTrace(s.trace).combine.op !== 'fold');
  assert.ok(fold.length >= 10);
  return fold.slice(0, 10).map((s, i) => ({ chosen: s.trace, rejected: other[i].trace }));
}

describe('refineWithDpo', () => {
  it('raises the probability of what the chosen programs share, and the loss falls', () => {
    const state = initialFactory();
    const pairs = foldPairs();
    const report = refineWithDpo(state, pairs, DEFAULT_REFINE_OPTIONS);
    assert.ok(pFold(report.state) > pFold(state) + 0.2, `${pFold(state)} -> ${pFold(report.state)}`);
    assert.equal(report.losses.length, DEFAULT_REFINE_OPTIONS.steps + 1);
    assert.ok(Math.abs(report.losses[0] - Math.log(2)) < 1e-12, 'the policy starts at the reference');
    for (let i = 1; i < report.losses.length; i++) assert.ok(report.losses[i] <= report.losses[i - 1] + 1e-12, `loss rose at step ${i}`);
    assert.ok(report.losses[report.losses.length - 1] < 0.2);
    assert.ok(report.pairAccuracyAfter > report.pairAccuracyBefore);
    assert.equal(report.rewardAccuracyAfter, 1);
    for (const p of pairs) {
      assert.ok(logProbability(report.state, p.chosen) > logProbability(state, p.chosen));
      assert.ok(logProbability(report.state, p.rejected) < logProbability(state, p.rejected));
    }
  });

  it('leaves the reference unchanged and versions the result', () => {
    const state = refineWithDpo(initialFactory(), foldPairs(), { beta: 0.5, learningRate: 1, steps: 5 }).state;
    const snapshot = JSON.stringify(state);
    const report = refineWithDpo(state, foldPairs(), { beta: 0.3, learningRate: 0.5, steps: 20 });
    assert.equal(JSON.stringify(state), snapshot);
    assert.equal(report.state.version, state.version + 1);
    assert.equal(report.state.parentVersion, state.version);
    assert.deepEqual(report.state.hyperparameters, { beta: 0.3, learningRate: 0.5, steps: 20 });
    assert.equal(report.state.refinement?.pairs, 10);
    assert.equal(report.state.refinement?.lossAfter, report.losses[report.losses.length - 1]);
  });

  it('is deterministic', () => {
    const a = refineWithDpo(initialFactory(), foldPairs(), DEFAULT_REFINE_OPTIONS);
    const b = refineWithDpo(initialFactory(), foldPairs(), DEFAULT_REFINE_OPTIONS);
    assert.equal(JSON.stringify(a), JSON.stringify(b));
  });

  it('a larger beta keeps the policy closer to the reference', () => {
    const pairs = foldPairs();
    const opts = { learningRate: 1, steps: 300 };
    const loose = refineWithDpo(initialFactory(), pairs, { ...opts, beta: 0.2 }).state;
    const tight = refineWithDpo(initialFactory(), pairs, { ...opts, beta: 2 }).state;
    assert.ok(pFold(loose) > pFold(tight), `${pFold(loose)} vs ${pFold(tight)}`);
  });

  it('with no pairs changes nothing but the version', () => {
    const report = refineWithDpo(initialFactory(), [], DEFAULT_REFINE_OPTIONS);
    assert.deepEqual(report.state.logits, initialFactory().logits);
    assert.deepEqual(report.losses, []);
    assert.equal(report.state.version, 1);
  });

  it('refuses bad pairs and options with a message', () => {
    const good = buildTrace({});
    assert.throws(() => refineWithDpo(initialFactory(), [{ chosen: good, rejected: [99] }], DEFAULT_REFINE_OPTIONS), /preference pair 0: option 99 is out of range for pre.count/);
    assert.throws(() => refineWithDpo(initialFactory(), [{ chosen: [...good, 0], rejected: good }], DEFAULT_REFINE_OPTIONS), /1 decisions too many/);
    assert.throws(() => refineWithDpo(initialFactory(), [], { ...DEFAULT_REFINE_OPTIONS, beta: 0 }), /beta must be positive/);
    assert.throws(() => refineWithDpo(initialFactory(), [], { ...DEFAULT_REFINE_OPTIONS, steps: 1.5 }), /steps/);
  });
});

describe('dpoObjective', () => {
  it('has the gradient of finite differences', () => {
    const reference = initialFactory();
    // A policy away from the reference, so that every term of the gradient is non-trivial.
    const policy = refineWithDpo(reference, foldPairs().slice(0, 3), { beta: 0.5, learningRate: 1, steps: 3 }).state;
    const pairs: PreferencePair[] = [
      { chosen: buildTrace({ 'combine.op': 'fold', 'post.scale': 1.0 }), rejected: buildTrace({ 'combine.op': 'median', 'post.scale': 3.0 }) },
      {
        chosen: buildTrace({ 'pre.count': 2, 'pre.op': ['trim_top_k', 'drop_rescale'], 'combine.op': 'ties' }),
        rejected: buildTrace({ 'pre.count': 1, 'pre.op': 'trim_top_k', 'combine.op': 'mean', 'post.count': 1, 'post.op': 'match_norm' }),
      },
      { chosen: buildTrace({ 'combine.op': 'sum', 'combine.sum.weights': 'per_candidate' }), rejected: buildTrace({ 'combine.op': 'sum' }) },
    ];
    const beta = 0.7;
    const { gradient } = dpoObjective(policy, reference, pairs, beta);
    const h = 1e-6;
    let checked = 0;
    for (const point of ['combine.op', 'post.scale', 'pre.op', 'pre.count', 'combine.sum.weights', 'post.op', 'combine.fold.rate']) {
      for (let k = 0; k < policy.logits[point].length; k++) {
        const at = (delta: number): number => {
          const moved = JSON.parse(JSON.stringify(policy)) as FactoryState;
          moved.logits[point][k] += delta;
          return dpoObjective(moved, reference, pairs, beta).loss;
        };
        const numeric = (at(h) - at(-h)) / (2 * h);
        assert.ok(Math.abs(numeric - gradient[point][k]) < 1e-7, `${point}[${k}]: ${numeric} vs ${gradient[point][k]}`);
        checked++;
      }
    }
    assert.ok(checked > 25);
    // Choice points no pair visits get no gradient.
    assert.ok(gradient['post.depth_scale.late'].every((g) => g === 0));
  });
});
