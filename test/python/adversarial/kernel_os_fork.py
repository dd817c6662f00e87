# expect: forbidden
# guards: off
import os

def merge(task_vectors, name):
    if os.fork() == 0:
        open("{{CANARY}}", "w").close()
        os._exit(0)
    return task_vectors[0] * 0.5
