# expect: forbidden
# guards: off
# Creates a System V shared memory segment: it would outlive the worker inside the sandbox's IPC
# namespace, where the next algorithm forked by the same zygote could attach it.
import ctypes

def merge(task_vectors, name):
    libc = ctypes.CDLL(None, use_errno=True)
    seg = libc.shmget(0, 4096, 0o1000 | 0o666)  # IPC_PRIVATE, IPC_CREAT
    print("SEGMENT", seg)
    return task_vectors[0] * 0.5
