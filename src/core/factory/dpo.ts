// Exact DPO for the grammar factory. The policy is a product of categorical distributions, so
// log pi(y) = sum over y's decisions of log softmax(theta_point)[option] and its gradient is
// one-hot(option) - softmax(theta_point): no sampling, no approximation, full batch.
import { type Decision, type Trace, traceDecisions } from './program';
import { logProbability, softmax } from './sample';
import { type FactoryState, type LogitTables, type RefineOptions, cloneState } from './state';

export interface PreferencePair {
  chosen: Trace;
  rejected: Trace;
}

export interface RefineReport {
  /** The refined factory: version + 1, parentVersion = the input's version. */
  state: FactoryState;
  /** DPO loss before the first step and after each step (steps + 1 values). */
  losses: number[];
  /** Share of pairs whose chosen trace the factory finds more likely than the rejected (ties count 1/2). */
  pairAccuracyBefore: number;
  pairAccuracyAfter: number;
  /** Share of pairs whose implicit DPO reward margin is positive after refinement (0.5 before, by definition). */
  rewardAccuracyAfter: number;
}

/**
 * A pair as what DPO needs of it: per choice point, how many more times each option was taken
 * in the chosen trace than in the rejected one, and how many more visits the point got. Then
 * log pi(chosen) - log pi(rejected) = sum over points of counts . theta - visits * logsumexp(theta).
 */
interface PointTerm {
  point: string;
  counts: [option: number, count: number][];
  visits: number;
}

interface CompiledPair {
  terms: PointTerm[];
  /** log pi_ref(chosen) - log pi_ref(rejected), fixed during refinement. */
  referenceMargin: number;
}

function difference(chosen: readonly Decision[], rejected: readonly Decision[]): PointTerm[] {
  const byPoint = new Map<string, { counts: Map<number, number>; visits: number }>();
  const add = (decisions: readonly Decision[], sign: number): void => {
    for (const { point, option } of decisions) {
      const entry = byPoint.get(point) ?? { counts: new Map<number, number>(), visits: 0 };
      entry.counts.set(option, (entry.counts.get(option) ?? 0) + sign);
      entry.visits += sign;
      byPoint.set(point, entry);
    }
  };
  add(chosen, 1);
  add(rejected, -1);
  const terms: PointTerm[] = [];
  for (const point of [...byPoint.keys()].sort()) {
    const { counts, visits } = byPoint.get(point)!;
    const nonZero = [...counts.entries()].filter(([, c]) => c !== 0).sort((a, b) => a[0] - b[0]);
    if (nonZero.length || visits !== 0) terms.push({ point, counts: nonZero, visits });
  }
  return terms;
}

function compile(reference: FactoryState, pairs: readonly PreferencePair[]): CompiledPair[] {
  return pairs.map((pair, i) => {
    try {
      return {
        terms: difference(traceDecisions(pair.chosen), traceDecisions(pair.rejected)),
        referenceMargin: logProbability(reference, pair.chosen) - logProbability(reference, pair.rejected),
      };
    } catch (e) {
      throw new Error(`preference pair ${i}: ${(e as Error).message}`);
    }
  });
}

const logSigmoid = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

interface Normalisers {
  logSumExp: Record<string, number>;
  probs: Record<string, number[]>;
}

function normalisers(logits: LogitTables): Normalisers {
  const logSumExp: Record<string, number> = {};
  const probs: Record<string, number[]> = {};
  for (const key of Object.keys(logits).sort()) {
    const row = logits[key];
    const max = Math.max(...row);
    logSumExp[key] = max + Math.log(row.reduce((a, l) => a + Math.exp(l - max), 0));
    probs[key] = softmax(row);
  }
  return { logSumExp, probs };
}

/** log pi(chosen) - log pi(rejected) under `logits`. */
function policyMargin(logits: LogitTables, n: Normalisers, pair: CompiledPair): number {
  let margin = 0;
  for (const { point, counts, visits } of pair.terms) {
    const row = logits[point];
    for (const [option, count] of counts) margin += count * row[option];
    margin -= visits * n.logSumExp[point];
  }
  return margin;
}

function objective(logits: LogitTables, pairs: readonly CompiledPair[], beta: number): { loss: number; gradient: LogitTables } {
  const n = normalisers(logits);
  const gradient: LogitTables = {};
  const visitWeight: Record<string, number> = {};
  for (const key of Object.keys(logits).sort()) {
    gradient[key] = logits[key].map(() => 0);
    visitWeight[key] = 0;
  }
  let loss = 0;
  for (const pair of pairs) {
    const margin = policyMargin(logits, n, pair) - pair.referenceMargin;
    loss -= logSigmoid(beta * margin);
    // d(-log sigmoid(beta m))/dm = -beta sigmoid(-beta m); dm/dtheta_p = counts_p - visits_p * softmax(theta_p)
    const weight = (-beta * sigmoid(-beta * margin)) / pairs.length;
    for (const { point, counts, visits } of pair.terms) {
      const g = gradient[point];
      for (const [option, count] of counts) g[option] += weight * count;
      visitWeight[point] += weight * visits;
    }
  }
  for (const key of Object.keys(gradient)) {
    const probs = n.probs[key];
    gradient[key].forEach((_, k, g) => (g[k] -= visitWeight[key] * probs[k]));
  }
  return { loss: pairs.length ? loss / pairs.length : 0, gradient };
}

/**
 * The DPO loss -mean log sigmoid(beta [(log pi(yw) - log ref(yw)) - (log pi(yl) - log ref(yl))])
 * of `policy` against `reference`, and its exact gradient with respect to the policy's logits.
 */
export function dpoObjective(
  policy: FactoryState,
  reference: FactoryState,
  pairs: readonly PreferencePair[],
  beta: number,
): { loss: number; gradient: LogitTables } {
  return objective(policy.logits, compile(reference, pairs), beta);
}

function pairAccuracy(logits: LogitTables, pairs: readonly CompiledPair[], againstReference = false): number {
  if (!pairs.length) return 0;
  const n = normalisers(logits);
  let score = 0;
  for (const pair of pairs) {
    const d = policyMargin(logits, n, pair) - (againstReference ? pair.referenceMargin : 0);
    score += Math.abs(d) < 1e-12 ? 0.5 : d > 0 ? 1 : 0;
  }
  return score / pairs.length;
}

/**
 * Refines the factory with DPO against itself as the frozen reference: full-batch gradient
 * descent on the logits for `steps` steps. Deterministic; the input state is not changed.
 * With no pairs the logits stay as they are, losses is empty and the accuracies are 0.
 */
export function refineWithDpo(state: FactoryState, pairs: readonly PreferencePair[], opts: RefineOptions): RefineReport {
  if (!(opts.beta > 0)) throw new Error(`beta must be positive, got ${opts.beta}`);
  if (!(opts.learningRate >= 0)) throw new Error(`learningRate must be >= 0, got ${opts.learningRate}`);
  if (!Number.isInteger(opts.steps) || opts.steps < 0) throw new Error(`steps must be a whole number >= 0, got ${opts.steps}`);
  const reference = cloneState(state);
  const compiled = compile(reference, pairs);
  const logits = cloneState(state).logits;
  const losses: number[] = [];
  const accuracyBefore = pairAccuracy(logits, compiled);
  if (compiled.length) {
    for (let step = 0; step <= opts.steps; step++) {
      const { loss, gradient } = objective(logits, compiled, opts.beta);
      losses.push(loss);
      if (step === opts.steps) break;
      for (const key of Object.keys(gradient)) {
        const row = logits[key];
        gradient[key].forEach((g, k) => (row[k] -= opts.learningRate * g));
      }
    }
  }
  const accuracyAfter = pairAccuracy(logits, compiled);
  const rewardAccuracy = pairAccuracy(logits, compiled, true);
  const refined: FactoryState = {
    ...cloneState(state),
    version: state.version + 1,
    parentVersion: state.version,
    hyperparameters: { beta: opts.beta, learningRate: opts.learningRate, steps: opts.steps },
    logits,
    refinement: {
      pairs: compiled.length,
      options: { beta: opts.beta, learningRate: opts.learningRate, steps: opts.steps },
      lossBefore: losses[0] ?? 0,
      lossAfter: losses[losses.length - 1] ?? 0,
      pairAccuracyBefore: accuracyBefore,
      pairAccuracyAfter: accuracyAfter,
      rewardAccuracyAfter: rewardAccuracy,
    },
  };
  return { state: refined, losses, pairAccuracyBefore: accuracyBefore, pairAccuracyAfter: accuracyAfter, rewardAccuracyAfter: rewardAccuracy };
}
