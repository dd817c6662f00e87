# expect: exception
def merge(task_vectors, name):
    raise ValueError("MemoryError: DefaultCPUAllocator: can't allocate memory")
