# expect: forbidden
# The module is reached through a built string, which the syntax-tree check cannot see; the
# run-time getattr guard refuses it.
import numpy as np

def merge(task_vectors, name):
    m = getattr(np, "o" + "s")
    while True:
        m.fork()
