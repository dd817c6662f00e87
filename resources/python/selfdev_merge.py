"""selfdev_merge: the helper library the sandbox offers to merge algorithms (version 1).

Part of the algorithm contract (docs/ALGORITHMS.md): an algorithm may `from selfdev_merge import
...` any name below. The functions take and return float32 numpy arrays, never change their
inputs, and put EPS in every denominator. `as_arrays` and `finish` let a numpy-only algorithm run
in a torch run too. The library lets small writer models (the demo's) write short programs; an
algorithm that does not import it is self-contained, as real LLMs usually write them.
Changing what a function computes needs a new version (a new module), never an edit here.
"""
import numpy as np

VERSION = 1
EPS = 1e-8

__all__ = [
    "VERSION", "EPS", "np", "as_arrays", "finish", "trim_top_k", "trim_below", "drop_and_rescale",
    "clip_outliers", "blend_axis_mean", "equalise_norms", "sign_times_mean_magnitude",
    "weighted_sum", "magnitude_weighted_mean", "max_magnitude", "agreement_sum",
    "sign_elected_merge", "statistic_weighted_sum", "fold_in_sequence", "match_norm",
    "module_coefficient", "layer_index", "depth_coefficient",
]


def as_arrays(task_vectors):
    """The task vectors as float32 numpy arrays (torch tensors are copied to the CPU)."""
    out = []
    for t in task_vectors:
        if not isinstance(t, np.ndarray) and hasattr(t, "detach"):
            t = t.detach().float().cpu().numpy()
        out.append(np.asarray(t, dtype=np.float32))
    return out


def finish(merged, task_vectors):
    """`merged` as float32, in the type and on the device of the task vectors."""
    merged = np.asarray(merged, dtype=np.float32)
    first = task_vectors[0]
    if isinstance(first, np.ndarray) or not hasattr(first, "detach"):
        return merged
    import torch

    return torch.from_numpy(np.ascontiguousarray(merged)).to(first.device)


def trim_top_k(tau, density):
    """Keeps the `density` fraction of entries with the largest magnitude; zeroes the rest."""
    flat = tau.reshape(-1)
    k = max(1, int(density * flat.size))
    if k >= flat.size:
        return tau.copy()
    keep = np.argpartition(-np.abs(flat), k - 1)[:k]
    out = np.zeros_like(flat)
    out[keep] = flat[keep]
    return out.reshape(tau.shape)


def trim_below(tau, ratio):
    """Zeroes the entries smaller in magnitude than `ratio` standard deviations of the tensor."""
    cut = ratio * float(np.std(tau))
    return np.where(np.abs(tau) >= cut, tau, 0.0).astype(np.float32)


def drop_and_rescale(tau, p):
    """DARE-style: drops each entry with probability p, rescales the rest by 1 / (1 - p)."""
    keep = np.random.random_sample(tau.shape) >= p
    return np.where(keep, tau / (1.0 - p), 0.0).astype(np.float32)


def clip_outliers(tau, ratio):
    """Clips the entries to +-`ratio` standard deviations of the tensor."""
    bound = ratio * float(np.std(tau)) + EPS
    return np.clip(tau, -bound, bound).astype(np.float32)


def blend_axis_mean(tau, axis, keep):
    """keep * tau + (1 - keep) * its mean along `axis`, broadcast back (1-D: the overall mean)."""
    mean = np.mean(tau, axis=axis if tau.ndim > 1 else 0, keepdims=True)
    return (keep * tau + (1.0 - keep) * mean).astype(np.float32)


def equalise_norms(taus):
    """Rescales every task vector to the mean norm of all of them."""
    norms = [float(np.linalg.norm(t)) for t in taus]
    target = sum(norms) / len(norms)
    return [(t * (target / (n + EPS))).astype(np.float32) for t, n in zip(taus, norms)]


def sign_times_mean_magnitude(tau):
    """Keeps only the sign pattern: sign(tau) * mean |tau|."""
    return (np.sign(tau) * float(np.mean(np.abs(tau)))).astype(np.float32)


def weighted_sum(taus, weights):
    """sum_j w_j * tau_j; candidates past the listed weights take the last weight."""
    total = np.zeros_like(taus[0])
    for j, tau in enumerate(taus):
        total = total + weights[min(j, len(weights) - 1)] * tau
    return total.astype(np.float32)


def magnitude_weighted_mean(taus, power):
    """Per entry, the mean of the task vectors weighted by |value| ** power."""
    stacked = np.stack(taus)
    weights = np.abs(stacked) ** power
    return ((weights * stacked).sum(axis=0) / (weights.sum(axis=0) + EPS)).astype(np.float32)


def max_magnitude(taus):
    """Per entry, the value of largest magnitude among the task vectors."""
    stacked = np.stack(taus)
    pick = np.abs(stacked).argmax(axis=0)
    return np.take_along_axis(stacked, pick[None], axis=0)[0].astype(np.float32)


def agreement_sum(taus, factor):
    """The sum of the task vectors; entries whose signs disagree are multiplied by `factor`."""
    stacked = np.stack(taus)
    signs = np.sign(stacked)
    unanimous = np.all(signs >= 0, axis=0) | np.all(signs <= 0, axis=0)
    total = stacked.sum(axis=0)
    return np.where(unanimous, total, factor * total).astype(np.float32)


def sign_elected_merge(taus, elect="mass", aggregate="mean"):
    """Elects a sign per entry (elect: "mass" = sign of the summed values, "count" = majority of
    signs), then takes the `aggregate` ("mean" or "sum") of the entries that agree with it."""
    stacked = np.stack(taus)
    votes = stacked.sum(axis=0) if elect == "mass" else np.sign(stacked).sum(axis=0)
    elected = np.where(votes >= 0, 1.0, -1.0)
    agree = np.sign(stacked) == elected
    total = np.where(agree, stacked, 0.0).sum(axis=0)
    if aggregate == "mean":
        count = agree.sum(axis=0)
        return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)
    return total.astype(np.float32)


def _statistic(tau, mean, stat):
    if stat == "norm":
        return float(np.linalg.norm(tau))
    if stat == "inverse_norm":
        return 1.0 / (float(np.linalg.norm(tau)) + EPS)
    if stat == "variance":
        return float(np.var(tau))
    if stat == "cosine":
        return float(np.sum(tau * mean)) / (float(np.linalg.norm(tau)) * float(np.linalg.norm(mean)) + EPS)
    raise ValueError("unknown statistic %r" % (stat,))


def statistic_weighted_sum(taus, stat, temperature, total="mean"):
    """Weights the task vectors by a softmax of a statistic ("norm", "inverse_norm", "variance",
    "cosine" with the mean task vector), scaled to mean magnitude 1; the weights add up to 1
    (total="mean") or to the number of task vectors (total="sum")."""
    mean = np.mean(np.stack(taus), axis=0)
    stats = np.array([_statistic(t, mean, stat) for t in taus], dtype=np.float64)
    z = stats / (np.mean(np.abs(stats)) + EPS) / temperature
    weights = np.exp(z - z.max())
    weights = weights / weights.sum() * (len(taus) if total == "sum" else 1)
    out = np.zeros_like(taus[0])
    for w, tau in zip(weights, taus):
        out = out + float(w) * tau
    return out.astype(np.float32)


def fold_in_sequence(taus, rate, order="given", incoming="full"):
    """Folds the task vectors in one by one: merged = (1 - rate) * merged + rate * next, in the
    given order or by norm ("norm_ascending", "norm_descending"); incoming "axis0_mean" or
    "axis1_mean" folds in the next task vector's mean along that axis (broadcast)."""
    if order == "given":
        idx = list(range(len(taus)))
    else:
        sign = 1.0 if order == "norm_ascending" else -1.0
        idx = sorted(range(len(taus)), key=lambda j: sign * float(np.linalg.norm(taus[j])))
    merged = taus[idx[0]]
    for j in idx[1:]:
        if incoming == "full":
            nxt = taus[j]
        else:
            axis = 0 if incoming == "axis0_mean" else 1
            nxt = np.mean(taus[j], axis=axis if taus[j].ndim > 1 else 0, keepdims=True)
        merged = (1.0 - rate) * merged + rate * nxt
    return np.broadcast_to(merged, taus[0].shape).astype(np.float32)


def match_norm(merged, reference):
    """Rescales `merged` to the norm of `reference`."""
    ratio = float(np.linalg.norm(reference)) / (float(np.linalg.norm(merged)) + EPS)
    return (merged * ratio).astype(np.float32)


def module_coefficient(name, gate, up, down):
    """A coefficient per MLP projection, from the parameter's name; other parameters get 1."""
    if "gate_proj" in name:
        return gate
    if "up_proj" in name:
        return up
    if "down_proj" in name:
        return down
    return 1.0


def layer_index(name):
    """The block number in names like 'model.layers.3.mlp.up_proj.weight', or None."""
    parts = name.split(".")
    for part, following in zip(parts, parts[1:]):
        if part in ("layers", "layer", "h", "blocks") and following.isdigit():
            return int(following)
    return None


def depth_coefficient(name, boundary, early, late):
    """`early` for blocks before `boundary`, `late` from it on, 1 outside numbered blocks."""
    layer = layer_index(name)
    if layer is None:
        return 1.0
    return early if layer < boundary else late
