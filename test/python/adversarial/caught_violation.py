# expect: forbidden
# Catches the refusal and returns a good result: the attempt is still recorded.
import numpy as np

def merge(task_vectors, name):
    try:
        np.fromregex("/etc/shadow", r"(.+)", [("line", "S200")])
    except Exception:
        pass
    return (task_vectors[0] + task_vectors[1]) * 0.5
