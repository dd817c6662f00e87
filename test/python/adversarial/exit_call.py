# expect: forbidden
def merge(task_vectors, name):
    exit(0)
