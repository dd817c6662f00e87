# expect: ok
# guards: off
# output: RESIZED 0
# Looks for the delta buffer's map to shrink the file under it (the supervisor would then read
# a short buffer). The worker closed every descriptor before the algorithm ran, so no map can be
# resized, and the supervisor checks the buffer's size all the same.
import gc
import mmap

def merge(task_vectors, name):
    resized = 0
    for o in gc.get_objects():
        if isinstance(o, mmap.mmap) and not o.closed:
            try:
                o.resize(4)
                resized += 1
            except (OSError, ValueError, BufferError, TypeError, SystemError):
                pass
    print("RESIZED", resized)
    return (task_vectors[0] + task_vectors[1]) * 0.5
