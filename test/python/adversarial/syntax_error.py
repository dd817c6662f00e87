# expect: syntax
def merge(task_vectors, name)
    return task_vectors[0]
