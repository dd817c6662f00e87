# expect: dtype
# Claims float32, holds int64.
import numpy as np

class Liar(np.ndarray):
    @property
    def dtype(self):
        return np.dtype(np.float32)

def merge(task_vectors, name):
    return np.zeros(task_vectors[0].shape, dtype=np.int64).view(Liar)
