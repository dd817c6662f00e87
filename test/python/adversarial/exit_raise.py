# expect: forbidden
def merge(task_vectors, name):
    raise SystemExit(0)
