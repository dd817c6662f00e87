# expect: forbidden
# Writing inside scratch is allowed, but not without bound (RLIMIT_FSIZE).
import numpy as np

def merge(task_vectors, name):
    np.zeros(40 * 1024 * 1024, dtype=np.uint8).dump("big.pkl")
    return task_vectors[0] * 0.5
