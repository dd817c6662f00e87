# expect: no_op
# A candidate's task vector times (1 + 4e-6) is that candidate unchanged.
def merge(task_vectors, name):
    return task_vectors[0] * (1 + 4e-6)
