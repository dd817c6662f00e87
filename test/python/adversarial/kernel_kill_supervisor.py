# expect: forbidden
# guards: off
# Tries to kill its parent and everything else it can name; no other process is even visible.
import os

def merge(task_vectors, name):
    for pid in (os.getppid(), 1, -1):
        os.kill(pid, 9)
    return task_vectors[0] * 0.5
