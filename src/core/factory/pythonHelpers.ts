// Python source of the helper functions that generated programs use. Each generated module
// contains only the helpers it calls. Helpers never change their inputs in place and return
// float32 arrays; every division has EPS in its denominator.
import type { CombineOp } from './program';

export const HELPERS = {
  trim_top_k: `def trim_top_k(tau, density):
    """Keeps the \`density\` fraction of entries with the largest magnitude; zeroes the rest."""
    flat = tau.reshape(-1)
    k = max(1, int(density * flat.size))
    if k >= flat.size:
        return tau.copy()
    keep = np.argpartition(-np.abs(flat), k - 1)[:k]
    out = np.zeros_like(flat)
    out[keep] = flat[keep]
    return out.reshape(tau.shape)`,
  trim_below: `def trim_below(tau, ratio):
    """Zeroes the entries smaller in magnitude than \`ratio\` standard deviations of the tensor."""
    cut = ratio * float(np.std(tau))
    return np.where(np.abs(tau) >= cut, tau, 0.0).astype(np.float32)`,
  drop_and_rescale: `def drop_and_rescale(tau, p):
    """DARE-style: drops each entry with probability p, rescales the rest by 1 / (1 - p)."""
    keep = np.random.random_sample(tau.shape) >= p
    return np.where(keep, tau / (1.0 - p), 0.0).astype(np.float32)`,
  clip_outliers: `def clip_outliers(tau, ratio):
    """Clips the entries to +-\`ratio\` standard deviations of the tensor."""
    bound = ratio * float(np.std(tau)) + EPS
    return np.clip(tau, -bound, bound).astype(np.float32)`,
  blend_axis_mean: `def blend_axis_mean(tau, axis, keep):
    """keep * tau + (1 - keep) * its mean along \`axis\`, broadcast back (1-D: the overall mean)."""
    mean = np.mean(tau, axis=axis if tau.ndim > 1 else 0, keepdims=True)
    return (keep * tau + (1.0 - keep) * mean).astype(np.float32)`,
  equalise_norms: `def equalise_norms(taus):
    """Rescales every task vector to the mean norm of all of them."""
    norms = [float(np.linalg.norm(t)) for t in taus]
    target = sum(norms) / len(norms)
    return [(t * (target / (n + EPS))).astype(np.float32) for t, n in zip(taus, norms)]`,
  sign_times_mean_magnitude: `def sign_times_mean_magnitude(tau):
    """Keeps only the sign pattern: sign(tau) * mean |tau|."""
    return (np.sign(tau) * float(np.mean(np.abs(tau)))).astype(np.float32)`,
  weighted_sum: `def weighted_sum(taus, weights):
    """sum_j w_j * tau_j; candidates past the listed weights take the last weight."""
    total = np.zeros_like(taus[0])
    for j, tau in enumerate(taus):
        total = total + weights[min(j, len(weights) - 1)] * tau
    return total.astype(np.float32)`,
  magnitude_weighted_mean: `def magnitude_weighted_mean(taus, power):
    """Per entry, the mean of the task vectors weighted by |value| ** power."""
    stacked = np.stack(taus)
    weights = np.abs(stacked) ** power
    return ((weights * stacked).sum(axis=0) / (weights.sum(axis=0) + EPS)).astype(np.float32)`,
  max_magnitude: `def max_magnitude(taus):
    """Per entry, the value of largest magnitude among the task vectors."""
    stacked = np.stack(taus)
    pick = np.abs(stacked).argmax(axis=0)
    return np.take_along_axis(stacked, pick[None], axis=0)[0].astype(np.float32)`,
  agreement_sum: `def agreement_sum(taus, factor):
    """The sum of the task vectors; entries whose signs disagree are multiplied by \`factor\`."""
    stacked = np.stack(taus)
    signs = np.sign(stacked)
    unanimous = np.all(signs >= 0, axis=0) | np.all(signs <= 0, axis=0)
    total = stacked.sum(axis=0)
    return np.where(unanimous, total, factor * total).astype(np.float32)`,
  match_norm: `def match_norm(merged, reference):
    """Rescales \`merged\` to the norm of \`reference\`."""
    ratio = float(np.linalg.norm(reference)) / (float(np.linalg.norm(merged)) + EPS)
    return (merged * ratio).astype(np.float32)`,
  module_coefficient: `def module_coefficient(name, gate, up, down):
    """A coefficient per MLP projection, from the parameter's name; other parameters get 1."""
    if "gate_proj" in name:
        return gate
    if "up_proj" in name:
        return up
    if "down_proj" in name:
        return down
    return 1.0`,
  layer_index: `def layer_index(name):
    """The block number in names like 'model.layers.3.mlp.up_proj.weight', or None."""
    parts = name.split(".")
    for part, following in zip(parts, parts[1:]):
        if part in ("layers", "layer", "h", "blocks") and following.isdigit():
            return int(following)
    return None`,
  depth_coefficient: `def depth_coefficient(name, boundary, early, late):
    """\`early\` for blocks before \`boundary\`, \`late\` from it on, 1 outside numbered blocks."""
    layer = layer_index(name)
    if layer is None:
        return 1.0
    return early if layer < boundary else late`,
} as const;

export type HelperName = keyof typeof HELPERS;

/** Helpers whose text depends on the combination's choices (rendered specialised, for reading). */
export function combineHelper(step: CombineOp): string | undefined {
  switch (step.op) {
    case 'ties': {
      const elect =
        step.elect === 'mass'
          ? '    elected = np.where(stacked.sum(axis=0) >= 0, 1.0, -1.0)  # sign of the summed mass'
          : '    elected = np.where(np.sign(stacked).sum(axis=0) >= 0, 1.0, -1.0)  # majority of signs';
      const result =
        step.aggregate === 'mean'
          ? ['    count = agree.sum(axis=0)', '    return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)']
          : ['    return total.astype(np.float32)'];
      return [
        'def sign_elected_merge(taus):',
        `    """Elects a sign per entry (by ${step.elect === 'mass' ? 'summed mass' : 'majority count'}), then takes the ${step.aggregate} of the entries that agree."""`,
        '    stacked = np.stack(taus)',
        elect,
        '    agree = np.sign(stacked) == elected',
        '    total = np.where(agree, stacked, 0.0).sum(axis=0)',
        ...result,
      ].join('\n');
    }
    case 'stat_weighted': {
      const stat = {
        norm: '    return float(np.linalg.norm(tau))',
        inverse_norm: '    return 1.0 / (float(np.linalg.norm(tau)) + EPS)',
        variance: '    return float(np.var(tau))',
        cosine: '    return float(np.sum(tau * mean)) / (float(np.linalg.norm(tau)) * float(np.linalg.norm(mean)) + EPS)',
      }[step.stat];
      return [
        'def tensor_statistic(tau, mean):',
        `    """The ${step.stat.replace('_', ' ')} of the task vector${step.stat === 'cosine' ? ' with the mean task vector' : ''}."""`,
        stat,
        '',
        '',
        'def statistic_weighted_sum(taus, temperature):',
        `    """Weights the task vectors by a softmax of their statistic (scaled to mean magnitude 1); the weights add up to ${step.total === 'sum' ? 'the number of task vectors' : '1'}."""`,
        '    mean = np.mean(np.stack(taus), axis=0)',
        '    stats = np.array([tensor_statistic(t, mean) for t in taus], dtype=np.float64)',
        '    z = stats / (np.mean(np.abs(stats)) + EPS) / temperature',
        '    weights = np.exp(z - z.max())',
        step.total === 'sum' ? '    weights = weights / weights.sum() * len(taus)' : '    weights = weights / weights.sum()',
        '    total = np.zeros_like(taus[0])',
        '    for w, tau in zip(weights, taus):',
        '        total = total + float(w) * tau',
        '    return total.astype(np.float32)',
      ].join('\n');
    }
    case 'fold': {
      const order = {
        given: '    order = list(range(len(taus)))',
        norm_ascending: '    order = sorted(range(len(taus)), key=lambda j: float(np.linalg.norm(taus[j])))',
        norm_descending: '    order = sorted(range(len(taus)), key=lambda j: -float(np.linalg.norm(taus[j])))',
      }[step.order];
      const axis = step.incoming === 'axis0_mean' ? 0 : 1;
      const incoming =
        step.incoming === 'full'
          ? '        incoming = taus[j]'
          : `        incoming = np.mean(taus[j], axis=${axis} if taus[j].ndim > 1 else 0, keepdims=True)  # broadcast to full shape by the mix`;
      const what = step.incoming === 'full' ? 'the next task vector' : `the next task vector's mean along axis ${axis}`;
      return [
        'def fold_in_sequence(taus, rate):',
        `    """Folds the task vectors in one by one: merged = (1 - rate) * merged + rate * ${what}."""`,
        order,
        '    merged = taus[order[0]]',
        '    for j in order[1:]:',
        incoming,
        '        merged = (1.0 - rate) * merged + rate * incoming',
        '    return np.broadcast_to(merged, taus[0].shape).astype(np.float32)',
      ].join('\n');
    }
    default:
      return undefined;
  }
}
