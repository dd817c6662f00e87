# expect: non_finite
def merge(task_vectors, name):
    return task_vectors[0] / 0.0
