# expect: forbidden
from numpy.lib import utils

def merge(task_vectors, name):
    return task_vectors[0] * 0.5
