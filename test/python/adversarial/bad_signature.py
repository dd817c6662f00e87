# expect: bad_signature
def merge(task_vectors):
    return task_vectors[0]
