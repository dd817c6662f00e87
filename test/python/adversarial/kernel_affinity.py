# expect: forbidden
# guards: off
import os

def merge(task_vectors, name):
    os.sched_setaffinity(0, {0})
    return task_vectors[0] * 0.5
