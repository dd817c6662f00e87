# expect: forbidden
# guards: off
# A device node in scratch (the memory device, 1:1).
import os
import stat

def merge(task_vectors, name):
    os.mknod("mem", stat.S_IFCHR | 0o666, os.makedev(1, 1))
    return task_vectors[0] * 0.5
