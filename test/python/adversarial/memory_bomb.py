# expect: memory
import numpy as np

def merge(task_vectors, name):
    huge = np.ones((1 << 17, 1 << 15), dtype=np.float64)  # 32 GiB
    return huge[: task_vectors[0].shape[0], : task_vectors[0].shape[1]]
