# expect: dtype
# An object that offers raw memory through the array interface is not an array.
import numpy as np

class Raw:
    @property
    def __array_interface__(self):
        return {"data": (8, False), "shape": (12, 8), "typestr": "<f4", "version": 3}

def merge(task_vectors, name):
    return Raw()
