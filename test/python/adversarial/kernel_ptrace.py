# expect: forbidden
# guards: off
import ctypes

def merge(task_vectors, name):
    ctypes.CDLL(None, use_errno=True).ptrace(16, 1, 0, 0)  # PTRACE_ATTACH to pid 1
    return task_vectors[0] * 0.5
