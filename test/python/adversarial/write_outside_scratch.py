# expect: forbidden
# ndarray.dump pickles to a path: the audit hook refuses writing outside the scratch folder.
def merge(task_vectors, name):
    task_vectors[0].dump("/tmp/selfdev-adversarial-pwned.pkl")
    return task_vectors[0] * 0.5
