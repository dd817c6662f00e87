# expect: forbidden
def merge(task_vectors, name):
    os = __import__("o" + "s")
    os.system("touch /tmp/selfdev-adversarial-pwned")
    return task_vectors[0] * 0.5
