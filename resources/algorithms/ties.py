"""TIES merging (Yadav et al., 2023): trim, elect signs, disjoint mean, scale.

1. Trim: in each task vector keep the DENSITY fraction of entries with the largest magnitude
   (k = max(1, floor(DENSITY * n)) entries), zero the rest.
2. Elect: per entry, the sign of the sum of the trimmed values (+ when the sum is 0).
3. Disjoint mean: per entry, the mean of the trimmed values whose sign agrees with the elected
   sign (entries where none agrees stay 0).
4. Scale: multiply by LAMBDA.

Computed with numpy; torch tensors are converted and the result handed back as a tensor on
the inputs' device.
"""
import numpy as np

DENSITY = 0.4
LAMBDA = 1.0
GRID = {"DENSITY": [0.2, 0.4, 0.6], "LAMBDA": [0.6, 1.0]}


def to_numpy(task_vectors):
    if isinstance(task_vectors[0], np.ndarray):
        return [np.asarray(t, dtype=np.float32) for t in task_vectors], None
    return [t.detach().float().cpu().numpy() for t in task_vectors], task_vectors[0]


def like_input(x, like):
    if like is None:
        return x
    import torch

    return torch.from_numpy(np.ascontiguousarray(x)).to(like.device)


def trim(tau, density):
    """tau with all but its k largest-magnitude entries set to zero."""
    flat = tau.reshape(-1)
    n = flat.size
    if density >= 1:
        return tau.copy()
    k = max(1, int(density * n))
    keep = np.argpartition(-np.abs(flat), k - 1)[:k]
    out = np.zeros_like(flat)
    out[keep] = flat[keep]
    return out.reshape(tau.shape)


def disjoint_mean(trimmed):
    stacked = np.stack(trimmed)
    elected = np.where(stacked.sum(axis=0) >= 0, 1.0, -1.0).astype(stacked.dtype)
    agree = np.sign(stacked) == elected
    count = agree.sum(axis=0)
    total = np.where(agree, stacked, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)


def merge(task_vectors, name):
    taus, like = to_numpy(task_vectors)
    merged = disjoint_mean([trim(t, DENSITY) for t in taus]) * LAMBDA
    return like_input(merged, like)
