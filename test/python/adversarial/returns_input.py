# expect: no_op
def merge(task_vectors, name):
    return task_vectors[1]
