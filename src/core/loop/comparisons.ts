// The comparisons that answer the run's questions, from the records alone:
// - on the sealed test split, paired on the same items: the best discovered algorithm (best by
//   dev among the factory's finalists) against the best tuned baseline, the best candidate model
//   and the seed; and the factory against the random-program control (their best by dev, and the
//   means of their top-K finalists). Each with a paired bootstrap interval and a sign-flip
//   p-value, overall and per benchmark, and Holm-adjusted over the family;
// - per iteration on dev: the factory's programs against the control's at the same temperature
//   (difference of means and of the top-k means, programs resampled), "does refinement help".
import { groupDifference, holmAdjust, pairedDifference, signFlipPValue, type ItemOutcomes } from '../../stats';
import type { ScoredRecord } from '../run/records';

export interface Difference {
  difference: number;
  low: number;
  high: number;
  /** Two-sided sign-flip p-value of "no difference". */
  p: number;
}

export interface Comparison {
  /** What is compared, in words: "best discovered vs best baseline". */
  question: string;
  a: string;
  b: string;
  overall: Difference & { pHolm: number };
  benchmarks: Record<string, Difference>;
}

export interface SealedComparisons {
  /** How many overall comparisons the family holds (for the Holm adjustment). */
  count: number;
  /** Items of the sealed split per benchmark. */
  items: Record<string, number>;
  list: Comparison[];
}

const RESAMPLES = 2000;

/** The record's items as outcomes in the given benchmark order; undefined when one is missing. */
function outcomes(r: ScoredRecord | undefined, benchmarks: readonly string[]): boolean[][] | undefined {
  if (!r || r.status !== 'ok' || !r.items) return undefined;
  const out = benchmarks.map((b) => r.items![b]?.split('').map((c) => c === '1'));
  return out.every((x): x is boolean[] => Array.isArray(x)) ? out : undefined;
}

/** Per item, the share of the group's systems that answered it (for top-K group means). */
function groupOutcomes(rs: readonly ScoredRecord[], benchmarks: readonly string[]): number[][] | undefined {
  const all = rs.map((r) => outcomes(r, benchmarks));
  if (!all.length || all.some((x) => !x)) return undefined;
  return benchmarks.map((_, k) => all[0]![k].map((_, i) => all.reduce((s, x) => s + (x![k][i] ? 1 : 0), 0) / all.length));
}

function difference(a: ItemOutcomes, b: ItemOutcomes, seed: number): Difference {
  const d = pairedDifference(a, b, { resamples: RESAMPLES, seed });
  return { difference: d.difference, low: d.low, high: d.high, p: signFlipPValue(a, b, { resamples: RESAMPLES, seed }) };
}

export interface SealedInputs {
  /** The factory's finalists on test, best by dev first. */
  finalists: readonly ScoredRecord[];
  /** The control's finalists on test, best by dev first. */
  control: readonly ScoredRecord[];
  /** The references on test: seed, best baseline, candidates. */
  references: readonly ScoredRecord[];
  /** Dev scores of the references by id (which baseline and which candidate are "best" is decided on dev). */
  devScore: (id: string) => number | undefined;
  seed: number;
}

/** The family of sealed-test comparisons, or null when there is nothing to compare yet. */
export function sealedComparisons(x: SealedInputs): SealedComparisons | null {
  const best = x.finalists[0];
  if (!best?.items) return null;
  const benchmarks = Object.keys(best.items);
  const byDev = (rs: readonly ScoredRecord[]) => [...rs].sort((p, q) => (x.devScore(q.id) ?? -1) - (x.devScore(p.id) ?? -1))[0];
  const baseline = byDev(x.references.filter((r) => r.kind === 'baseline'));
  const candidate = byDev(x.references.filter((r) => r.kind === 'candidate'));
  const seed = x.references.find((r) => r.kind === 'seed');
  const k = Math.min(x.finalists.length, x.control.length);
  const pairs: [string, string, string, ItemOutcomes | undefined, ItemOutcomes | undefined][] = [
    ['best discovered vs best baseline', best.id, baseline?.id ?? '-', outcomes(best, benchmarks), outcomes(baseline, benchmarks)],
    ['best discovered vs best candidate model', best.id, candidate?.id ?? '-', outcomes(best, benchmarks), outcomes(candidate, benchmarks)],
    ['best discovered vs seed', best.id, seed?.id ?? '-', outcomes(best, benchmarks), outcomes(seed, benchmarks)],
    ['factory vs control, best by dev', best.id, x.control[0]?.id ?? '-', outcomes(best, benchmarks), outcomes(x.control[0], benchmarks)],
    [`factory vs control, mean of the top ${k} by dev`, `top ${k} factory`, `top ${k} control`, k ? groupOutcomes(x.finalists.slice(0, k), benchmarks) : undefined, k ? groupOutcomes(x.control.slice(0, k), benchmarks) : undefined],
  ];
  const done = pairs.filter((p): p is [string, string, string, ItemOutcomes, ItemOutcomes] => Boolean(p[3] && p[4]));
  const overall = done.map(([, , , a, b]) => difference(a, b, x.seed));
  const adjusted = holmAdjust(overall.map((d) => d.p));
  return {
    count: done.length,
    items: Object.fromEntries(benchmarks.map((b) => [b, best.items![b].length])),
    list: done.map(([question, a, b, oa, ob], i) => ({
      question,
      a,
      b,
      overall: { ...overall[i], pHolm: adjusted[i] },
      benchmarks: Object.fromEntries(benchmarks.map((name, j) => [name, difference([oa[j]], [ob[j]], x.seed)])),
    })),
  };
}

/** a minus b on the same items (their benchmarks as `a` has them), or null when either lacks items. */
export function pairedOnItems(a: ScoredRecord | undefined, b: ScoredRecord | undefined, seed: number): Difference | null {
  if (!a?.items) return null;
  const benchmarks = Object.keys(a.items);
  const oa = outcomes(a, benchmarks);
  const ob = outcomes(b, benchmarks);
  return oa && ob && oa.every((x, k) => x.length === ob[k].length) ? difference(oa, ob, seed) : null;
}

export interface RefinementFigure {
  /** Programs that ran, factory and control. */
  factory: number;
  control: number;
  /** Mean dev score of the factory's programs minus the control's, with a bootstrap interval. */
  mean: { difference: number; low: number; high: number };
  /** The same for the means of each side's best `top` programs. */
  top: { k: number; difference: number; low: number; high: number };
}

/** The top-k of "does refinement help": the best three programs of each side. */
export const REFINEMENT_TOP = 3;

/** Factory against control in one iteration, at the same temperature and budget (dev scores). */
export function refinementFigure(factory: readonly number[], control: readonly number[], seed: number): RefinementFigure | null {
  if (!factory.length || !control.length) return null;
  const mean = groupDifference(factory, control, { resamples: RESAMPLES, seed });
  const top = groupDifference(factory, control, { resamples: RESAMPLES, seed, top: REFINEMENT_TOP });
  return {
    factory: factory.length,
    control: control.length,
    mean: { difference: mean.difference, low: mean.low, high: mean.high },
    top: { k: Math.min(REFINEMENT_TOP, factory.length, control.length), difference: top.difference, low: top.low, high: top.high },
  };
}
