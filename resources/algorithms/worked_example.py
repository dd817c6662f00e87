"""The worked example shown to the algorithm factory (one-shot prompt).

It shows the contract and the kind of idea expected: a weighted combination of the task
vectors whose weights come from the vectors themselves. Here each task vector is weighted by
how much it agrees with the others (cosine similarity with the mean task vector), so a
candidate that pulls in its own direction counts less. Negative agreement gets no weight.

    w_j   = max(0, cos(tau_j, mean_k tau_k))
    delta = SCALE * sum_j w_j tau_j / sum_j w_j
"""
import numpy as np

SCALE = 1.0
GRID = {"SCALE": [0.5, 1.0, 1.5]}


def merge(task_vectors, name):
    # task_vectors: one array per candidate model, all of the same shape, for parameter `name`
    if not isinstance(task_vectors[0], np.ndarray):  # torch run: same code through numpy
        import torch

        arrays = [t.detach().float().cpu().numpy() for t in task_vectors]
        return torch.from_numpy(merge(arrays, name)).to(task_vectors[0].device)
    stacked = np.stack(task_vectors).astype(np.float32)
    mean = stacked.mean(axis=0)
    mean_norm = np.linalg.norm(mean) + 1e-12
    weights = []
    for tau in stacked:
        cosine = float(np.sum(tau * mean) / (np.linalg.norm(tau) * mean_norm + 1e-12))
        weights.append(max(0.0, cosine))
    weights = np.array(weights, dtype=np.float32)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    delta = np.tensordot(weights / weights.sum(), stacked, axes=1)
    return (SCALE * delta).astype(np.float32)
