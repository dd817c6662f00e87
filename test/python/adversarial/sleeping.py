# expect: timeout
# limits: {"wallSeconds": 2, "cpuSeconds": 60}
import time

def merge(task_vectors, name):
    time.sleep(3600)
    return task_vectors[0] * 0.5
