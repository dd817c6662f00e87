# expect: forbidden
# ndarray.ctypes hands out raw pointers; reached through a built name.
import numpy as np

def merge(task_vectors, name):
    c = getattr(task_vectors[0], "ct" + "ypes")
    return task_vectors[0] * c.data
