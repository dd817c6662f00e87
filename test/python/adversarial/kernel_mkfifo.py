# expect: forbidden
# guards: off
# A FIFO that a reader would block on.
import os

def merge(task_vectors, name):
    os.mkfifo("hang")
    return task_vectors[0] * 0.5
