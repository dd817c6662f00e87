"""Simple average of the task vectors: delta = mean_j tau_j (task arithmetic with 1/n).

No coefficients to tune. With a single candidate this returns its task vector unchanged, which
the runner reports as a no-op.
"""
GRID = {}


def merge(task_vectors, name):
    total = task_vectors[0] * 1.0
    for tau in task_vectors[1:]:
        total = total + tau
    return total / len(task_vectors)
