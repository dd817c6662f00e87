// Canonical form and one-line summary of a program. Programs that differ only in ways that
// cannot change the result (equal per-candidate weights, neutral scalings, scalings undone by
// a later norm match) get the same key, so a run can deduplicate what it evaluates.
import type { CombineOp, PostOp, PreOp, Program } from './program';

const round = (x: number): number => Number(x.toPrecision(6));

/** An equivalent program in normal form. */
export function canonicalProgram(program: Program): Program {
  let scale = program.scale;

  const pre: PreOp[] = [];
  for (const step of program.pre) {
    const last = pre[pre.length - 1];
    // Keeping the top a% and then the top b% of the same tensor keeps the top min(a, b)%.
    if (step.op === 'trim_top_k' && last?.op === 'trim_top_k') {
      pre[pre.length - 1] = { op: 'trim_top_k', density: Math.min(last.density, step.density) };
    } else {
      pre.push({ ...step });
    }
  }

  let combine: CombineOp = { ...program.combine };
  const weights = combine.op === 'sum' ? combine.weights : null;
  if (weights && weights.every((w) => w === weights[0])) {
    scale *= weights[0];
    combine = { op: 'sum', weights: null };
  }

  // Everything before the last norm match only matters up to a positive factor.
  const lastMatch = program.post.map((s) => s.op).lastIndexOf('match_norm');
  const post: PostOp[] = [];
  program.post.forEach((step, i) => {
    if (step.op === 'module_scale' && step.gate === 1 && step.up === 1 && step.down === 1) return;
    if (step.op === 'depth_scale' && step.early === step.late) {
      if (i > lastMatch) scale *= step.early;
      return;
    }
    if ((step.op === 'module_scale' || step.op === 'depth_scale') && i < lastMatch) return;
    const last = post[post.length - 1];
    if (step.op === 'trim_output' && last?.op === 'trim_output') {
      post[post.length - 1] = { op: 'trim_output', density: Math.min(last.density, step.density) };
      return;
    }
    post.push({ ...step });
  });
  if (lastMatch >= 0) {
    if (combine.op === 'mean') combine = { op: 'sum', weights: null };
    if (combine.op === 'stat_weighted') combine = { ...combine, total: 'sum' };
    if (combine.op === 'sum' && combine.weights) {
      const top = Math.max(...combine.weights);
      combine = { op: 'sum', weights: combine.weights.map((w) => round(w / top)) };
    }
  }
  return { pre, combine, post, scale: round(scale) };
}

/** A string that is equal for two programs exactly when their canonical forms are equal. */
export function canonicalKey(program: Program): string {
  const c = canonicalProgram(program);
  const part = (o: object): string =>
    Object.entries(o)
      .map(([k, v]) => (k === 'op' ? String(v) : `${k}=${Array.isArray(v) ? v.join('/') : String(v)}`))
      .join(',');
  return [`pre[${c.pre.map(part).join(';')}]`, `combine[${part(c.combine)}]`, `post[${c.post.map(part).join(';')}]`, `scale=${c.scale}`].join(' ');
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;

export function describePre(step: PreOp): string {
  switch (step.op) {
    case 'trim_top_k': return `trim to top ${pct(step.density)}`;
    case 'trim_below': return `zero |x| < ${step.ratio} std`;
    case 'drop_rescale': return `drop p=${step.p} and rescale`;
    case 'clip': return `clip at ${step.ratio} std`;
    case 'axis_mean': return step.keep === 0 ? `axis-${step.axis} mean` : `blend ${step.keep} with axis-${step.axis} mean`;
    case 'equalise_norms': return 'equalise norms';
    case 'sign_magnitude': return 'sign x mean |x|';
  }
}

export function describeCombine(step: CombineOp): string {
  switch (step.op) {
    case 'sum': return step.weights ? `weighted sum (${step.weights.join(', ')})` : 'sum';
    case 'mean': return 'mean';
    case 'ties': return `sign elect by ${step.elect} + disjoint ${step.aggregate}`;
    case 'magnitude_weighted': return `|x|^${step.power}-weighted mean`;
    case 'stat_weighted': return `softmax(${step.stat}/${step.temperature}) weights, total ${step.total}`;
    case 'fold': {
      const incoming = step.incoming === 'full' ? '' : `, ${step.incoming.replace('_', ' ')}`;
      return `fold rate ${step.rate} (${step.order.replace('_', ' ')}${incoming})`;
    }
    case 'max_magnitude': return 'max magnitude';
    case 'median': return 'median';
    case 'agreement': return `sum, disagreeing entries x${step.factor}`;
  }
}

export function describePost(step: PostOp): string {
  switch (step.op) {
    case 'match_norm': return `match norm of ${step.target}`;
    case 'module_scale': return `gate/up/down x${step.gate}/${step.up}/${step.down}`;
    case 'depth_scale': return `layers <${step.boundary} x${step.early}, later x${step.late}`;
    case 'trim_output': return `keep top ${pct(step.density)} of result`;
  }
}

/** Which known baseline the program is a variant of, if any (for the summary). */
export function baselineFamily(program: Program): string | undefined {
  const c = canonicalProgram(program);
  const pre = c.pre.map((s) => s.op).join(',');
  if (c.post.length > 0) return undefined;
  if (c.combine.op === 'ties' && c.combine.elect === 'mass' && c.combine.aggregate === 'mean') {
    if (pre === 'trim_top_k') return 'TIES-like';
    if (pre === 'drop_rescale') return 'DARE-TIES-like';
  }
  if (c.combine.op === 'sum' && !c.combine.weights) {
    if (pre === '') return 'task-arithmetic-like';
    if (pre === 'drop_rescale') return 'DARE-like';
  }
  if (c.combine.op === 'mean' && pre === '') return c.scale === 1 ? 'average' : 'task-arithmetic-like';
  return undefined;
}

/** One line, e.g. "TIES-like: trim to top 30% + sign elect by mass + disjoint mean + scale 1". */
export function summariseProgram(program: Program): string {
  const parts = [...program.pre.map(describePre), describeCombine(program.combine), ...program.post.map(describePost), `scale ${program.scale}`];
  const family = baselineFamily(program);
  return (family ? `${family}: ` : '') + parts.join(' + ');
}
