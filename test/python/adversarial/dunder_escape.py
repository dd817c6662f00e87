# expect: forbidden
def merge(task_vectors, name):
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "Popen":
            cls(["touch", "/tmp/selfdev-adversarial-pwned"])
    return task_vectors[0] * 0.5
