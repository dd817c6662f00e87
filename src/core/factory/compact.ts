// A program of the grammar as a short module on the sandbox's helper library
// (resources/python/selfdev_merge.py): only `merge`, constants inline. It computes what the full
// self-contained module of codegen.ts computes (a test runs both), in about a third of the
// tokens, which is what a tiny writer model can learn to write (docs/FACTORY.md).
import type { Program } from './program';

function py(x: number, kind: 'float' | 'int' = 'float'): string {
  if (kind === 'int') return String(Math.round(x));
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

const str = (s: string) => `"${s}"`;

/** The compact module of a program. */
export function renderCompact(program: Program): string {
  const used = new Set<string>(['as_arrays', 'finish']);
  const use = (name: string) => (used.add(name), name);
  let numpy = false;
  const np = (expr: string) => ((numpy = true), expr);
  const body: string[] = ['taus = as_arrays(task_vectors)'];
  if (program.post.some((s) => s.op === 'match_norm')) body.push('originals = taus');

  for (const step of program.pre) {
    switch (step.op) {
      case 'trim_top_k': body.push(`taus = [${use('trim_top_k')}(t, ${py(step.density)}) for t in taus]`); break;
      case 'trim_below': body.push(`taus = [${use('trim_below')}(t, ${py(step.ratio)}) for t in taus]`); break;
      case 'drop_rescale': body.push(`taus = [${use('drop_and_rescale')}(t, ${py(step.p)}) for t in taus]`); break;
      case 'clip': body.push(`taus = [${use('clip_outliers')}(t, ${py(step.ratio)}) for t in taus]`); break;
      case 'axis_mean': body.push(`taus = [${use('blend_axis_mean')}(t, ${py(step.axis, 'int')}, ${py(step.keep)}) for t in taus]`); break;
      case 'equalise_norms': body.push(`taus = ${use('equalise_norms')}(taus)`); break;
      case 'sign_magnitude': body.push(`taus = [${use('sign_times_mean_magnitude')}(t) for t in taus]`); break;
    }
  }

  const c = program.combine;
  switch (c.op) {
    case 'sum':
      body.push(c.weights ? `merged = ${use('weighted_sum')}(taus, (${c.weights.map((w) => py(w)).join(', ')}))` : np('merged = np.sum(np.stack(taus), axis=0)'));
      break;
    case 'mean': body.push(np('merged = np.mean(np.stack(taus), axis=0)')); break;
    case 'median': body.push(np('merged = np.median(np.stack(taus), axis=0)')); break;
    case 'ties': body.push(`merged = ${use('sign_elected_merge')}(taus, ${str(c.elect)}, ${str(c.aggregate)})`); break;
    case 'magnitude_weighted': body.push(`merged = ${use('magnitude_weighted_mean')}(taus, ${py(c.power, 'int')})`); break;
    case 'stat_weighted': body.push(`merged = ${use('statistic_weighted_sum')}(taus, ${str(c.stat)}, ${py(c.temperature)}, ${str(c.total)})`); break;
    case 'fold': body.push(`merged = ${use('fold_in_sequence')}(taus, ${py(c.rate)}, ${str(c.order)}, ${str(c.incoming)})`); break;
    case 'max_magnitude': body.push(`merged = ${use('max_magnitude')}(taus)`); break;
    case 'agreement': body.push(`merged = ${use('agreement_sum')}(taus, ${py(c.factor)})`); break;
  }

  for (const step of program.post) {
    switch (step.op) {
      case 'match_norm': {
        const reference = {
          sum: np('np.sum(np.stack(originals), axis=0)'),
          mean: np('np.mean(np.stack(originals), axis=0)'),
          largest: np('max(originals, key=lambda t: float(np.linalg.norm(t)))'),
        }[step.target];
        body.push(`merged = ${use('match_norm')}(merged, ${reference})`);
        break;
      }
      case 'module_scale': body.push(`merged = merged * ${use('module_coefficient')}(name, ${py(step.gate)}, ${py(step.up)}, ${py(step.down)})`); break;
      case 'depth_scale': body.push(`merged = merged * ${use('depth_coefficient')}(name, ${py(step.boundary, 'int')}, ${py(step.early)}, ${py(step.late)})`); break;
      case 'trim_output': body.push(`merged = ${use('trim_top_k')}(merged, ${py(step.density)})`); break;
    }
  }
  body.push(`return finish(merged * ${py(program.scale)}, task_vectors)`);
  return [...(numpy ? ['import numpy as np'] : []), `from selfdev_merge import ${[...used].sort().join(', ')}`, '', '', 'def merge(task_vectors, name):', ...body.map((l) => `    ${l}`), ''].join('\n');
}
