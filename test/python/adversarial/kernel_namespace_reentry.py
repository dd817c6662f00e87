# expect: forbidden
# guards: off
# Tries to enter another namespace (nsenter's setns), e.g. to get the network back.
import ctypes
import os

def merge(task_vectors, name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    libc.setns(fd, 0)
    return task_vectors[0] * 0.5
