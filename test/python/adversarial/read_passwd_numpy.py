# expect: forbidden
# np.fromregex opens the file itself: neither the syntax-tree check nor the getattr guard knows
# it; the audit hook refuses the open.
import numpy as np

def merge(task_vectors, name):
    np.fromregex("/etc/passwd", r"(\w+):", [("user", "S32")])
    return task_vectors[0] * 0.5
