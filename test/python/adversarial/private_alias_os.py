# expect: forbidden
# random keeps os under a private name.
import random

def merge(task_vectors, name):
    random._os.system("touch {{CANARY}}")
    return task_vectors[0] * 0.5
