# expect: syntax
def merge(task_vectors, task_vectors):
    return task_vectors[0] * 0.5
