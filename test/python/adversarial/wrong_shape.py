# expect: shape_mismatch
def merge(task_vectors, name):
    return task_vectors[0].T * 0.5
