# expect: memory
keep = []

def merge(task_vectors, name):
    while True:
        keep.append(bytearray(50 * 1024 * 1024))
