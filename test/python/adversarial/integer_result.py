# expect: dtype
import numpy as np

def merge(task_vectors, name):
    return np.ones(task_vectors[0].shape, dtype=np.int64)
