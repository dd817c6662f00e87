# expect: forbidden
# guards: off
import os

def merge(task_vectors, name):
    os.setpriority(os.PRIO_PROCESS, 0, 19)
    return task_vectors[0] * 0.5
