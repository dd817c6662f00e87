# expect: forbidden
def merge(task_vectors, name):
    with open("/etc/passwd") as f:
        f.read()
    return task_vectors[0] * 0.5
