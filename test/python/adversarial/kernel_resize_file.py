# expect: forbidden
# guards: off
# Resizing files is refused by the kernel: the delta buffer keeps the size the supervisor gave
# it (here tried on a file of its own in scratch, the only kind it can name).
import os

def merge(task_vectors, name):
    with open("own.bin", "wb") as f:
        f.write(b"x")
    os.truncate("own.bin", 1 << 20)
    return task_vectors[0] * 0.5
