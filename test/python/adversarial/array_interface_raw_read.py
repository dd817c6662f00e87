# expect: exception
# Reads memory at an arbitrary address through the array interface: the worker crashes
# (SIGSEGV) inside its sandbox, and that is the algorithm's fault.
import numpy as np

class Raw:
    @property
    def __array_interface__(self):
        return {"data": (4096, False), "shape": (1024,), "typestr": "<f4", "version": 3}

def merge(task_vectors, name):
    return task_vectors[0] + float(np.asarray(Raw()).sum())
