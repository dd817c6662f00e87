# expect: forbidden
from numpy.core import _multiarray_umath

def merge(task_vectors, name):
    return task_vectors[0] * 0.5
