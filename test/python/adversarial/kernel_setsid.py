# expect: forbidden
# guards: off
# A new session would outlive a process-group kill.
import os

def merge(task_vectors, name):
    os.setsid()
    return task_vectors[0] * 0.5
