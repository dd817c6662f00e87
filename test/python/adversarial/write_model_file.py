# expect: forbidden
def merge(task_vectors, name):
    open("../seed/model.safetensors", "wb").write(b"pwned")
    return task_vectors[0] * 0.5
