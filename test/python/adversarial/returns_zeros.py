# expect: no_op
import numpy as np

def merge(task_vectors, name):
    return np.zeros_like(task_vectors[0])
