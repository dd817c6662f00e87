"""DARE (Yu et al., 2024): drop and rescale each task vector, then combine.

Drop: every entry of every task vector is set to 0 with probability DROP_P.
Rescale (RESCALE):
  "inverse_keep"  the kept entries are divided by (1 - DROP_P), so each entry keeps its
                  expected value (the DARE paper's rule; the default here);
  "l1"            the dropped vector is scaled to the L1 norm it had before dropping
                  (mergekit's dare_* with rescale: true, its default);
  "none"          no rescaling (mergekit's rescale: false).
Combine (COMBINE): "task_arithmetic" (delta = LAMBDA * sum of the rescaled vectors) or "ties"
(sign election, then over the vectors that agree with the elected sign TIES_COMBINE =
"disjoint_mean", their mean (mergekit's normalize: true), or "sum", their sum (mergekit's
normalize: false); then LAMBDA).

The random masks come from numpy's global generator, which the runner seeds for every
parameter from (run seed, parameter name), so a run repeats exactly.
"""
import numpy as np

DROP_P = 0.4
LAMBDA = 1.0
COMBINE = "task_arithmetic"
RESCALE = "inverse_keep"
TIES_COMBINE = "disjoint_mean"
GRID = {"DROP_P": [0.2, 0.4, 0.6], "LAMBDA": [0.5, 1.0], "COMBINE": ["task_arithmetic", "ties"]}


def to_numpy(task_vectors):
    if isinstance(task_vectors[0], np.ndarray):
        return [np.asarray(t, dtype=np.float32) for t in task_vectors], None
    return [t.detach().float().cpu().numpy() for t in task_vectors], task_vectors[0]


def like_input(x, like):
    if like is None:
        return x
    import torch

    return torch.from_numpy(np.ascontiguousarray(x)).to(like.device)


def drop_and_rescale(tau, p):
    if p <= 0:
        return tau.copy()
    keep = np.random.random_sample(tau.shape) >= p
    if RESCALE == "inverse_keep":
        return np.where(keep, tau / (1.0 - p), 0.0).astype(np.float32)
    dropped = np.where(keep, tau, 0.0).astype(np.float32)
    if RESCALE == "l1":
        before = float(np.abs(tau).sum(dtype=np.float64))
        after = float(np.abs(dropped).sum(dtype=np.float64))
        if before >= 1e-7 and after >= 1e-7:
            dropped = (dropped * np.float32(before / after)).astype(np.float32)
    return dropped


def sign_consensus(vectors):
    stacked = np.stack(vectors)
    elected = np.where(stacked.sum(axis=0) >= 0, 1.0, -1.0).astype(stacked.dtype)
    agree = np.sign(stacked) == elected
    count = agree.sum(axis=0)
    total = np.where(agree, stacked, 0.0).sum(axis=0)
    if TIES_COMBINE == "sum":
        return total.astype(np.float32)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)


def merge(task_vectors, name):
    taus, like = to_numpy(task_vectors)
    rescaled = [drop_and_rescale(t, DROP_P) for t in taus]
    if COMBINE == "ties":
        merged = sign_consensus(rescaled)
    else:
        merged = np.sum(rescaled, axis=0)
    return like_input((merged * LAMBDA).astype(np.float32), like)
