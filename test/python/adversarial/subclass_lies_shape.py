# expect: shape_mismatch
# An ndarray subclass that claims the right shape: the runner reads the real buffer.
import numpy as np

class Liar(np.ndarray):
    @property
    def shape(self):
        return (12, 8)

def merge(task_vectors, name):
    return np.zeros(3, dtype=np.float32).view(Liar)
