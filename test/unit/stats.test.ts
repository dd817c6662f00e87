// The project's one statistics module (src/stats): the generator, the stratified bootstrap of a
// mean accuracy, and the paired comparison of two systems on the same items.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootstrapInterval, groupDifference, holmAdjust, meanAccuracy, pairedDifference, seededRandom, signFlipPValue, stratifiedInterval } from '../../src/stats';

/** `n` outcomes of which the first `k` are correct, spread evenly. */
const pattern = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.floor(((i + 1) * k) / n) > Math.floor((i * k) / n));

describe('statistics', () => {
  it('keeps a known case at fixed numbers (a change here changes every reported interval)', () => {
    const r = seededRandom(0);
    assert.deepEqual([r(), r(), r()].map((x) => x.toFixed(12)), ['0.266429208685', '0.000329745701', '0.223272027448']);
    const gsm = pattern(100, 40);
    const math = pattern(60, 21);
    assert.equal(meanAccuracy([gsm, math]), (0.4 + 0.35) / 2);
    const iv = stratifiedInterval([gsm, math], { seed: 0 });
    assert.deepEqual([iv.low.toFixed(6), iv.high.toFixed(6), iv.level], ['0.296667', '0.450000', 0.95]);
    const d = pairedDifference([pattern(100, 55), math], [gsm, math], { seed: 0 });
    assert.equal(d.difference.toFixed(6), '0.075000');
    assert.deepEqual([d.low.toFixed(6), d.high.toFixed(6)], ['0.010000', '0.140000']);
  });

  it('agrees with the normal approximation on a large benchmark', () => {
    const n = 4000;
    const p = 0.3;
    const { low, high } = bootstrapInterval(pattern(n, p * n), { resamples: 4000, seed: 5 });
    const half = 1.959964 * Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(low - (p - half)) < 0.003 && Math.abs(high - (p + half)) < 0.003, `${low} ${high} vs ${p - half} ${p + half}`);
  });

  it('resamples within each benchmark: a perfect and a failed benchmark give an exact mean', () => {
    const iv = stratifiedInterval([pattern(30, 30), pattern(50, 0)]);
    assert.deepEqual([iv.low, iv.high], [0.5, 0.5]);
  });

  it('pairs items: two systems that differ on one item are close, whatever their spread', () => {
    const a = pattern(200, 100);
    const b = [...a];
    b[0] = !b[0];
    const d = pairedDifference([a], [b]);
    assert.ok(Math.abs(d.difference + 0.005) < 1e-12); // b is right on the one item a misses
    assert.ok(d.high - d.low <= 0.0201, `paired interval ${d.low}..${d.high}`); // that item drawn 0-4 times in 200
    const unpaired = bootstrapInterval(a);
    assert.ok(unpaired.high - unpaired.low > 0.1);
    const same = pairedDifference([a], [a]);
    assert.deepEqual([same.difference, same.low, same.high], [0, 0, 0]);
  });

  it('refuses what it cannot compute, naming why', () => {
    assert.throws(() => stratifiedInterval([]), /no items/);
    assert.throws(() => stratifiedInterval([[true]], { resamples: 0 }), /resamples/);
    assert.throws(() => pairedDifference([[true, false]], [[true]]), /same benchmarks and items/);
  });
});

describe('paired tests and adjustments', () => {
  /** Exact two-sided sign test: P(|X - n/2| >= |k - n/2|), X ~ Binomial(n, 1/2). */
  function exactSignTest(n: number, k: number): number {
    const logC = (m: number, r: number) => { let s = 0; for (let i = 1; i <= r; i++) s += Math.log(m - r + i) - Math.log(i); return s; };
    let p = 0;
    for (let x = 0; x <= n; x++) if (Math.abs(x - n / 2) >= Math.abs(k - n / 2) - 1e-9) p += Math.exp(logC(n, x) - n * Math.log(2));
    return Math.min(1, p);
  }

  it('gives the exact sign test on one benchmark (only discordant items count)', () => {
    // 200 items; a right and b wrong on 18, the reverse on 7, the rest agree.
    const a: boolean[] = [];
    const b: boolean[] = [];
    for (let i = 0; i < 200; i++) {
      const kind = i < 18 ? 'a' : i < 25 ? 'b' : i % 2 ? 'both' : 'neither';
      a.push(kind === 'a' || kind === 'both');
      b.push(kind === 'b' || kind === 'both');
    }
    const p = signFlipPValue([a], [b], { resamples: 20000, seed: 3 });
    const exact = exactSignTest(25, 18);
    assert.ok(Math.abs(p - exact) < 0.01, `sign-flip ${p} vs exact ${exact}`);
    assert.ok(signFlipPValue([a], [a]) > 0.99, 'no difference: p near 1');
  });

  it('adjusts a family with Holm (statsmodels gives these numbers)', () => {
    assert.deepEqual(holmAdjust([0.01, 0.04, 0.03]).map((x) => Number(x.toFixed(6))), [0.03, 0.06, 0.06]);
    assert.deepEqual(holmAdjust([0.5, 0.001]).map((x) => Number(x.toFixed(6))), [0.5, 0.002]);
  });

  it('compares two groups of programs by mean and by their best few', () => {
    const factory = [0.5, 0.45, 0.4, 0.3, 0.3, 0.2];
    const control = [0.35, 0.3, 0.3, 0.25, 0.2, 0.1];
    const mean = groupDifference(factory, control, { seed: 1 });
    assert.ok(Math.abs(mean.difference - (2.15 - 1.5) / 6) < 1e-12);
    assert.ok(mean.low < mean.difference && mean.difference < mean.high);
    const top = groupDifference(factory, control, { seed: 1, top: 2 });
    assert.ok(Math.abs(top.difference - (0.95 - 0.65) / 2) < 1e-12);
    assert.throws(() => groupDifference([], control), /values on both sides/);
  });
});
