# expect: forbidden
# guards: off
# Looks for the delta buffer's map to shrink the file under it (the supervisor would then read a
# short buffer): resizing a file is a call the kernel refuses.
import gc
import mmap

def merge(task_vectors, name):
    for o in gc.get_objects():
        if isinstance(o, mmap.mmap) and not o.closed:
            try:
                o.resize(4)
            except (OSError, ValueError, BufferError, TypeError, SystemError):
                pass
    return (task_vectors[0] + task_vectors[1]) * 0.5
