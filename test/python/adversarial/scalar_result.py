# expect: dtype
def merge(task_vectors, name):
    return 0.5
