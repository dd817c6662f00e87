# expect: non_finite
# Patches the numpy functions a validator would use, then returns NaN. Validation happens in
# the supervisor process, which this code cannot reach.
import numpy as np

np.isfinite = lambda x: np.ones(np.shape(x), dtype=bool)
np.allclose = lambda *a, **k: False
np.any = lambda *a, **k: True

def merge(task_vectors, name):
    return task_vectors[0] * np.nan
