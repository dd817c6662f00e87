"""Task arithmetic (Ilharco et al., 2023): the merged delta is the task vectors' sum, scaled.

    delta = LAMBDA * sum_j tau_j

Works on numpy arrays and torch tensors alike: it only uses + and *.
"""
LAMBDA = 0.5
GRID = {"LAMBDA": [0.2, 0.4, 0.6, 0.8, 1.0]}


def merge(task_vectors, name):
    total = task_vectors[0] * 1.0  # a new tensor of the inputs' library, never an input itself
    for tau in task_vectors[1:]:
        total = total + tau
    return total * LAMBDA

