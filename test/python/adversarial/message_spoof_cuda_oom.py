# expect: exception
# The class comes from the exception's type, not from what its message says.
def merge(task_vectors, name):
    raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")
