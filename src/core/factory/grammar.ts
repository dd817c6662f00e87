// The choice points of the grammar factory: every decision a program is made of, its options,
// and the prior logits of a fresh factory. Numeric constants are discretised into bins so that
// every decision is a categorical distribution and DPO has an exact gradient.

export type OptionValue = number | string;

export interface ChoicePoint {
  /** Stable id, used as the key of the logits table; conditioned on the slot it fills. */
  readonly id: string;
  /** What the decision chooses, for describeFactory. */
  readonly question: string;
  readonly options: readonly OptionValue[];
  /** Logits of a fresh factory (same length as options). */
  readonly prior: readonly number[];
}

/** Grammar identifier stored in every state; a state of another grammar is refused. */
export const GRAMMAR_ID = 'merge-pipeline/1';

export const MAX_PRE_STEPS = 2;
export const MAX_POST_STEPS = 2;

export const PRE_OPS = ['trim_top_k', 'trim_below', 'drop_rescale', 'clip', 'axis_mean', 'equalise_norms', 'sign_magnitude'] as const;
export const COMBINE_OPS = ['sum', 'mean', 'ties', 'magnitude_weighted', 'stat_weighted', 'fold', 'max_magnitude', 'median', 'agreement'] as const;
export const POST_OPS = ['match_norm', 'module_scale', 'depth_scale', 'trim_output'] as const;

const COEFFICIENTS = [0.4, 0.6, 0.8, 1.0, 1.2];
const COEFFICIENT_PRIOR = [0, 0, 0.2, 0.3, 0];
const MULTIPLIERS = [0.5, 0.75, 1.0, 1.25, 1.5];
const MULTIPLIER_PRIOR = [0, 0, 0.3, 0, 0];

const cp = (id: string, question: string, options: readonly OptionValue[], prior?: readonly number[]): ChoicePoint => ({
  id,
  question,
  options,
  prior: prior ?? options.map(() => 0),
});

// The priors are mild (|logit| <= 0.6): a hand-written stand-in for what a code LLM already
// knows (trimming, sign election and sums are common; median and extreme constants are rare).
// They make temperature matter from the first iteration; DPO does the rest.
export const CHOICE_POINTS: readonly ChoicePoint[] = [
  cp('pre.count', 'number of per-task-vector preprocessing steps', [0, 1, 2], [0.6, 0.4, -0.6]),
  cp('pre.op', 'preprocessing operator', PRE_OPS, [0.6, 0.2, 0.4, 0.2, 0, 0, -0.5]),
  cp('pre.trim_top_k.density', 'fraction of largest-magnitude entries kept', [0.1, 0.2, 0.3, 0.5, 0.7, 0.9], [-0.5, 0, 0.3, 0.3, 0.2, 0]),
  cp('pre.trim_below.ratio', 'magnitude threshold in standard deviations', [0.25, 0.5, 1.0, 1.5]),
  cp('pre.drop_rescale.p', 'drop probability', [0.1, 0.3, 0.5, 0.7, 0.9], [0.2, 0.3, 0.2, 0, -0.5]),
  cp('pre.clip.ratio', 'clip bound in standard deviations', [1.0, 2.0, 3.0]),
  cp('pre.axis_mean.axis', 'axis of the mean blended in', [0, 1]),
  cp('pre.axis_mean.keep', 'share of the original entries kept', [0, 0.25, 0.5, 0.75]),
  cp('combine.op', 'combination of the task vectors', COMBINE_OPS, [0.5, 0.2, 0.5, 0, 0.2, 0.3, 0, -0.3, 0]),
  cp('combine.sum.weights', 'weights of the sum', ['equal', 'per_candidate'], [0.3, 0]),
  cp('combine.sum.weight1', 'weight of candidate 1', COEFFICIENTS, COEFFICIENT_PRIOR),
  cp('combine.sum.weight2', 'weight of candidate 2', COEFFICIENTS, COEFFICIENT_PRIOR),
  cp('combine.sum.weight3', 'weight of candidate 3 and later', COEFFICIENTS, COEFFICIENT_PRIOR),
  cp('combine.ties.elect', 'sign election', ['mass', 'count'], [0.3, 0]),
  cp('combine.ties.aggregate', 'aggregate of the agreeing entries', ['mean', 'sum'], [0.3, 0]),
  cp('combine.magnitude_weighted.power', 'power of |value| used as weight', [1, 2]),
  cp('combine.stat_weighted.stat', 'per-tensor statistic behind the weights', ['norm', 'inverse_norm', 'variance', 'cosine'], [0, 0, 0, 0.3]),
  cp('combine.stat_weighted.temperature', 'softmax temperature of the weights', [0.25, 0.5, 1.0, 2.0]),
  cp('combine.stat_weighted.total', 'what the weights add up to', ['sum', 'mean']),
  cp('combine.fold.rate', 'mixing rate of each folded-in task vector', [0.3, 0.5, 0.7]),
  cp('combine.fold.order', 'folding order', ['given', 'norm_ascending', 'norm_descending']),
  cp('combine.fold.incoming', 'what is folded in', ['full', 'axis0_mean', 'axis1_mean']),
  cp('combine.agreement.factor', 'factor on entries whose signs disagree', [0, 0.5]),
  cp('post.count', 'number of postprocessing steps', [0, 1, 2], [0.8, 0, -0.8]),
  cp('post.op', 'postprocessing operator', POST_OPS),
  cp('post.match_norm.target', 'norm the result is rescaled to', ['sum', 'mean', 'largest']),
  cp('post.module_scale.gate', 'coefficient of gate projections', MULTIPLIERS, MULTIPLIER_PRIOR),
  cp('post.module_scale.up', 'coefficient of up projections', MULTIPLIERS, MULTIPLIER_PRIOR),
  cp('post.module_scale.down', 'coefficient of down projections', MULTIPLIERS, MULTIPLIER_PRIOR),
  cp('post.depth_scale.boundary', 'first layer counted as late', [1, 2, 4, 8, 16]),
  cp('post.depth_scale.early', 'coefficient of early layers', MULTIPLIERS, MULTIPLIER_PRIOR),
  cp('post.depth_scale.late', 'coefficient of late layers', MULTIPLIERS, MULTIPLIER_PRIOR),
  cp('post.trim_output.density', 'fraction of the result kept', [0.3, 0.5, 0.7, 0.9]),
  cp('post.scale', 'global scale', [0.3, 0.5, 0.7, 0.85, 1.0, 1.2, 1.5, 2.0, 3.0], [-0.3, 0, 0.2, 0.2, 0.3, 0.1, 0, -0.2, -0.5]),
];

export const CHOICE_POINT_BY_ID: ReadonlyMap<string, ChoicePoint> = new Map(CHOICE_POINTS.map((c) => [c.id, c]));

export function choicePoint(id: string): ChoicePoint {
  const point = CHOICE_POINT_BY_ID.get(id);
  if (!point) throw new Error(`unknown choice point ${id}`);
  return point;
}
