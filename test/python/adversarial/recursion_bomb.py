# expect: exception
def deeper(n):
    return deeper(n + 1) + 1

def merge(task_vectors, name):
    return task_vectors[0] * deeper(0)
