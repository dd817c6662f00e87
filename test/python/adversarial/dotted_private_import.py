# expect: forbidden
# A private extension module inside an allowed package: every part of a dotted import counts.
import numpy.core._multiarray_umath as raw

def merge(task_vectors, name):
    return task_vectors[0] * 0.5
