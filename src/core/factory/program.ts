// A program of the grammar factory: preprocessing of each task vector, one combination, then
// postprocessing and a global scale. `walkProgram` is the grammar itself: it asks for each
// decision in order, so sampling, replaying a trace and scoring a trace share one definition.
import { choicePoint, COMBINE_OPS, MAX_POST_STEPS, MAX_PRE_STEPS, type OptionValue, POST_OPS, PRE_OPS } from './grammar';

export type PreOp =
  | { op: 'trim_top_k'; density: number }
  | { op: 'trim_below'; ratio: number }
  | { op: 'drop_rescale'; p: number }
  | { op: 'clip'; ratio: number }
  | { op: 'axis_mean'; axis: number; keep: number }
  | { op: 'equalise_norms' }
  | { op: 'sign_magnitude' };

export type CombineOp =
  | { op: 'sum'; weights: number[] | null }
  | { op: 'mean' }
  | { op: 'ties'; elect: 'mass' | 'count'; aggregate: 'mean' | 'sum' }
  | { op: 'magnitude_weighted'; power: number }
  | { op: 'stat_weighted'; stat: 'norm' | 'inverse_norm' | 'variance' | 'cosine'; temperature: number; total: 'sum' | 'mean' }
  | { op: 'fold'; rate: number; order: 'given' | 'norm_ascending' | 'norm_descending'; incoming: 'full' | 'axis0_mean' | 'axis1_mean' }
  | { op: 'max_magnitude' }
  | { op: 'median' }
  | { op: 'agreement'; factor: number };

export type PostOp =
  | { op: 'match_norm'; target: 'sum' | 'mean' | 'largest' }
  | { op: 'module_scale'; gate: number; up: number; down: number }
  | { op: 'depth_scale'; boundary: number; early: number; late: number }
  | { op: 'trim_output'; density: number };

export interface Program {
  pre: PreOp[];
  combine: CombineOp;
  post: PostOp[];
  scale: number;
}

/** A trace: the option index of every decision, in the order the grammar asks for them. */
export type Trace = number[];

/** Asked once per decision with the choice point's id; returns the chosen option's index. */
export type Decide = (pointId: string) => number;

/** Builds a program by asking `decide` for each decision in grammar order. */
export function walkProgram(decide: Decide): Program {
  const value = (id: string): number | string => {
    const point = choicePoint(id);
    const index = decide(id);
    if (!Number.isInteger(index) || index < 0 || index >= point.options.length) {
      throw new Error(`option ${index} is out of range for ${id}`);
    }
    return point.options[index];
  };
  const num = (id: string): number => value(id) as number;
  const str = <T extends string>(id: string): T => value(id) as T;

  const pre: PreOp[] = [];
  const preCount = Math.min(num('pre.count'), MAX_PRE_STEPS);
  for (let i = 0; i < preCount; i++) {
    const op = str<(typeof PRE_OPS)[number]>('pre.op');
    switch (op) {
      case 'trim_top_k': pre.push({ op, density: num('pre.trim_top_k.density') }); break;
      case 'trim_below': pre.push({ op, ratio: num('pre.trim_below.ratio') }); break;
      case 'drop_rescale': pre.push({ op, p: num('pre.drop_rescale.p') }); break;
      case 'clip': pre.push({ op, ratio: num('pre.clip.ratio') }); break;
      case 'axis_mean': pre.push({ op, axis: num('pre.axis_mean.axis'), keep: num('pre.axis_mean.keep') }); break;
      case 'equalise_norms': pre.push({ op }); break;
      case 'sign_magnitude': pre.push({ op }); break;
    }
  }

  let combine: CombineOp;
  const combineOp = str<(typeof COMBINE_OPS)[number]>('combine.op');
  switch (combineOp) {
    case 'sum': {
      const perCandidate = str('combine.sum.weights') === 'per_candidate';
      combine = {
        op: 'sum',
        weights: perCandidate ? [num('combine.sum.weight1'), num('combine.sum.weight2'), num('combine.sum.weight3')] : null,
      };
      break;
    }
    case 'ties':
      combine = { op: 'ties', elect: str('combine.ties.elect'), aggregate: str('combine.ties.aggregate') };
      break;
    case 'magnitude_weighted':
      combine = { op: 'magnitude_weighted', power: num('combine.magnitude_weighted.power') };
      break;
    case 'stat_weighted':
      combine = {
        op: 'stat_weighted',
        stat: str('combine.stat_weighted.stat'),
        temperature: num('combine.stat_weighted.temperature'),
        total: str('combine.stat_weighted.total'),
      };
      break;
    case 'fold':
      combine = { op: 'fold', rate: num('combine.fold.rate'), order: str('combine.fold.order'), incoming: str('combine.fold.incoming') };
      break;
    case 'agreement':
      combine = { op: 'agreement', factor: num('combine.agreement.factor') };
      break;
    case 'mean':
    case 'max_magnitude':
    case 'median':
      combine = { op: combineOp };
      break;
  }

  const post: PostOp[] = [];
  const postCount = Math.min(num('post.count'), MAX_POST_STEPS);
  for (let i = 0; i < postCount; i++) {
    const op = str<(typeof POST_OPS)[number]>('post.op');
    switch (op) {
      case 'match_norm': post.push({ op, target: str('post.match_norm.target') }); break;
      case 'module_scale':
        post.push({ op, gate: num('post.module_scale.gate'), up: num('post.module_scale.up'), down: num('post.module_scale.down') });
        break;
      case 'depth_scale':
        post.push({ op, boundary: num('post.depth_scale.boundary'), early: num('post.depth_scale.early'), late: num('post.depth_scale.late') });
        break;
      case 'trim_output': post.push({ op, density: num('post.trim_output.density') }); break;
    }
  }
  return { pre, combine, post, scale: num('post.scale') };
}

/** One decision of a trace, named. */
export interface Decision {
  point: string;
  option: number;
}

/** Replays a trace; throws when it is not a complete, valid trace of the grammar. */
export function replayTrace(trace: readonly number[]): { program: Program; decisions: Decision[] } {
  const decisions: Decision[] = [];
  let at = 0;
  const program = walkProgram((point) => {
    if (at >= trace.length) throw new Error(`the trace ends before decision ${point}`);
    const option = trace[at++];
    decisions.push({ point, option });
    return option;
  });
  if (at !== trace.length) throw new Error(`the trace has ${trace.length - at} decisions too many`);
  return { program, decisions };
}

/** The named decisions of a trace (throws on an invalid trace). */
export function traceDecisions(trace: readonly number[]): Decision[] {
  return replayTrace(trace).decisions;
}

/** The program a trace stands for (throws on an invalid trace). */
export function programFromTrace(trace: readonly number[]): Program {
  return replayTrace(trace).program;
}

/**
 * The trace that makes the given choices, by option value: `{ 'combine.op': 'ties',
 * 'pre.op': ['trim_top_k', 'drop_rescale'] }` (a list is used in order for a decision that comes
 * up more than once). Decisions not named take their first option. Throws on an unknown value.
 */
export function buildTrace(choices: Readonly<Record<string, OptionValue | readonly OptionValue[]>>): Trace {
  const used = new Map<string, number>();
  const trace: number[] = [];
  walkProgram((point) => {
    const wanted = choices[point];
    let index = 0;
    if (wanted !== undefined) {
      const n = used.get(point) ?? 0;
      used.set(point, n + 1);
      const value = Array.isArray(wanted) ? wanted[Math.min(n, wanted.length - 1)] : (wanted as OptionValue);
      index = choicePoint(point).options.indexOf(value);
      if (index < 0) throw new Error(`${String(value)} is not an option of ${point}`);
    }
    trace.push(index);
    return index;
  });
  return trace;
}
