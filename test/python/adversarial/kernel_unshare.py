# expect: forbidden
# guards: off
import ctypes

def merge(task_vectors, name):
    ctypes.CDLL(None, use_errno=True).unshare(0x10000000)  # CLONE_NEWUSER
    return task_vectors[0] * 0.5
