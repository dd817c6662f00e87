# expect: non_finite
import numpy as np

def merge(task_vectors, name):
    out = task_vectors[0] * 0.5
    out.flat[3] = np.nan
    return out
