# expect: missing_function
def combine(task_vectors, name):
    return task_vectors[0]
