# expect: forbidden
# guards: off
# Many files, each under the per-file limit: the scratch tmpfs caps them all together.
import os

def merge(task_vectors, name):
    block = b"x" * (1024 * 1024)
    for i in range(100000):
        with open(f"f{i}", "wb") as f:
            f.write(block)
    return task_vectors[0] * 0.5
