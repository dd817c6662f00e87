# expect: forbidden
import numpy as np

def merge(task_vectors, name):
    np.fromregex("/root/.ssh/id_rsa", r"(.+)", [("line", "S200")])
    return task_vectors[0] * 0.5
