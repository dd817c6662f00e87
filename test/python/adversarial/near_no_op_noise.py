# expect: no_op
# The second candidate's task vector plus noise a ten-thousandth of its size.
import numpy as np

def merge(task_vectors, name):
    t = task_vectors[1]
    return t + np.random.standard_normal(t.shape).astype(np.float32) * (1e-4 * float(np.abs(t).mean()))
