# expect: forbidden
# A private helper of the library, imported by name.
from selfdev_merge import _statistic


def merge(task_vectors, name):
    return task_vectors[0] * _statistic(task_vectors[0], task_vectors[1], "norm")
