// Python code of a program (the algorithm contract of DESIGN.md): a docstring that says what
// it does, module constants for its numbers, the helpers it uses, and merge(task_vectors, name).
// The trace rides along as one comment line so that code the factory wrote can be turned back
// into a trace for DPO; code that does not regenerate byte for byte is not the factory's.
import { canonicalKey, describeCombine, describePost, describePre, summariseProgram } from './canonical';
import { type HelperName, HELPERS, combineHelper } from './pythonHelpers';
import { type Program, type Trace, replayTrace } from './program';

export const TRACE_MARKER = '# selfdev-factory-trace: v1 ';

/** Python literal of a number: floats always with a point, so constants read as floats. */
function py(x: number, kind: 'float' | 'int' = 'float'): string {
  if (kind === 'int') return String(Math.round(x));
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

class Constants {
  readonly lines: string[] = [];
  private readonly used = new Set<string>();
  add(base: string, literal: string): string {
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    this.lines.push(`${name} = ${literal}`);
    return name;
  }
}

/** The generated module for a trace (throws on an invalid trace). */
export function renderTrace(trace: readonly number[]): string {
  return renderProgram(replayTrace(trace).program, trace);
}

export function renderProgram(program: Program, trace: readonly number[]): string {
  const constants = new Constants();
  constants.add('EPS', '1e-8');
  const helpers = new Set<HelperName>();
  const body: string[] = [];
  const steps: string[] = [];
  const needsOriginals = program.post.some((s) => s.op === 'match_norm');
  if (needsOriginals) body.push('originals = taus');

  for (const step of program.pre) {
    steps.push(`Each task vector: ${describePre(step)}.`);
    switch (step.op) {
      case 'trim_top_k': {
        helpers.add('trim_top_k');
        const c = constants.add('TRIM_DENSITY', py(step.density));
        body.push(`taus = [trim_top_k(t, ${c}) for t in taus]`);
        break;
      }
      case 'trim_below': {
        helpers.add('trim_below');
        const c = constants.add('THRESHOLD_STDS', py(step.ratio));
        body.push(`taus = [trim_below(t, ${c}) for t in taus]`);
        break;
      }
      case 'drop_rescale': {
        helpers.add('drop_and_rescale');
        const c = constants.add('DROP_P', py(step.p));
        body.push(`taus = [drop_and_rescale(t, ${c}) for t in taus]`);
        break;
      }
      case 'clip': {
        helpers.add('clip_outliers');
        const c = constants.add('CLIP_STDS', py(step.ratio));
        body.push(`taus = [clip_outliers(t, ${c}) for t in taus]`);
        break;
      }
      case 'axis_mean': {
        helpers.add('blend_axis_mean');
        const a = constants.add('MEAN_AXIS', py(step.axis, 'int'));
        const k = constants.add('KEEP_SHARE', py(step.keep));
        body.push(`taus = [blend_axis_mean(t, ${a}, ${k}) for t in taus]`);
        break;
      }
      case 'equalise_norms':
        helpers.add('equalise_norms');
        body.push('taus = equalise_norms(taus)');
        break;
      case 'sign_magnitude':
        helpers.add('sign_times_mean_magnitude');
        body.push('taus = [sign_times_mean_magnitude(t) for t in taus]');
        break;
    }
  }

  const combine = program.combine;
  steps.push(`Combine: ${describeCombine(combine)}.`);
  switch (combine.op) {
    case 'sum':
      if (combine.weights) {
        helpers.add('weighted_sum');
        const c = constants.add('WEIGHTS', `(${combine.weights.map((w) => py(w)).join(', ')})`);
        body.push(`merged = weighted_sum(taus, ${c})`);
      } else {
        body.push('merged = np.sum(np.stack(taus), axis=0)');
      }
      break;
    case 'mean':
      body.push('merged = np.mean(np.stack(taus), axis=0)');
      break;
    case 'median':
      body.push('merged = np.median(np.stack(taus), axis=0)');
      break;
    case 'ties':
      body.push('merged = sign_elected_merge(taus)');
      break;
    case 'magnitude_weighted': {
      helpers.add('magnitude_weighted_mean');
      const c = constants.add('MAGNITUDE_POWER', py(combine.power, 'int'));
      body.push(`merged = magnitude_weighted_mean(taus, ${c})`);
      break;
    }
    case 'stat_weighted': {
      const c = constants.add('WEIGHT_TEMPERATURE', py(combine.temperature));
      body.push(`merged = statistic_weighted_sum(taus, ${c})`);
      break;
    }
    case 'fold': {
      const c = constants.add('FOLD_RATE', py(combine.rate));
      body.push(`merged = fold_in_sequence(taus, ${c})`);
      break;
    }
    case 'max_magnitude':
      helpers.add('max_magnitude');
      body.push('merged = max_magnitude(taus)');
      break;
    case 'agreement': {
      helpers.add('agreement_sum');
      const c = constants.add('DISAGREEMENT_FACTOR', py(combine.factor));
      body.push(`merged = agreement_sum(taus, ${c})`);
      break;
    }
  }

  for (const step of program.post) {
    steps.push(`Then: ${describePost(step)}.`);
    switch (step.op) {
      case 'match_norm': {
        helpers.add('match_norm');
        const reference = {
          sum: 'np.sum(np.stack(originals), axis=0)',
          mean: 'np.mean(np.stack(originals), axis=0)',
          largest: 'max(originals, key=lambda t: float(np.linalg.norm(t)))',
        }[step.target];
        body.push(`merged = match_norm(merged, ${reference})`);
        break;
      }
      case 'module_scale': {
        helpers.add('module_coefficient');
        const g = constants.add('GATE_SCALE', py(step.gate));
        const u = constants.add('UP_SCALE', py(step.up));
        const d = constants.add('DOWN_SCALE', py(step.down));
        body.push(`merged = merged * module_coefficient(name, ${g}, ${u}, ${d})`);
        break;
      }
      case 'depth_scale': {
        helpers.add('layer_index');
        helpers.add('depth_coefficient');
        const b = constants.add('LATE_FROM_LAYER', py(step.boundary, 'int'));
        const e = constants.add('EARLY_SCALE', py(step.early));
        const l = constants.add('LATE_SCALE', py(step.late));
        body.push(`merged = merged * depth_coefficient(name, ${b}, ${e}, ${l})`);
        break;
      }
      case 'trim_output': {
        helpers.add('trim_top_k');
        const c = constants.add('OUTPUT_DENSITY', py(step.density));
        body.push(`merged = trim_top_k(merged, ${c})`);
        break;
      }
    }
  }
  const scale = constants.add('SCALE', py(program.scale));
  steps.push(`Scale by ${py(program.scale)}.`);
  body.push(`return (merged * ${scale}).astype(np.float32)`);

  const helperTexts: string[] = (Object.keys(HELPERS) as HelperName[]).filter((h) => helpers.has(h)).map((h) => HELPERS[h]);
  const specialised = combineHelper(combine);
  if (specialised) helperTexts.push(specialised);

  const lines = [
    `"""${summariseProgram(program)}`,
    '',
    'Written by the Self-Developing grammar factory; applied to every parameter in the merge scope:',
    ...steps.map((s, i) => `${i + 1}. ${s}`),
    '',
    `Canonical form: ${canonicalKey(program)}`,
    '"""',
    `${TRACE_MARKER}${trace.join('.')}`,
    'import numpy as np',
    '',
    ...constants.lines,
    '',
    ...helperTexts.flatMap((h) => ['', h, '', '']),
    '',
    'def merge(task_vectors, name):',
    '    if not isinstance(task_vectors[0], np.ndarray):  # torch run: compute through numpy',
    '        import torch',
    '',
    '        arrays = [t.detach().float().cpu().numpy() for t in task_vectors]',
    '        return torch.from_numpy(merge(arrays, name)).to(task_vectors[0].device)',
    '    taus = [np.asarray(t, dtype=np.float32) for t in task_vectors]',
    ...body.map((l) => `    ${l}`),
    '',
  ];
  return lines.join('\n').replace(/\n{4,}/g, '\n\n\n');
}

/**
 * The trace of code this factory wrote, or undefined for code it did not write or that was
 * edited since (anything but line endings and trailing blank lines counts as an edit).
 */
export function traceOfCode(code: string): Trace | undefined {
  const text = code.replace(/\r\n?/g, '\n');
  const line = text.split('\n').find((l) => l.startsWith(TRACE_MARKER));
  if (!line) return undefined;
  const encoded = line.slice(TRACE_MARKER.length).trim();
  if (!/^\d+(\.\d+)*$/.test(encoded)) return undefined;
  const trace = encoded.split('.').map(Number);
  let regenerated: string;
  try {
    regenerated = renderTrace(trace);
  } catch {
    return undefined;
  }
  return regenerated.trimEnd() === text.trimEnd() ? trace : undefined;
}
