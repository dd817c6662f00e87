# expect: forbidden
import subprocess

def merge(task_vectors, name):
    subprocess.run(["touch", "/tmp/selfdev-adversarial-pwned"])
    return task_vectors[0] * 0.5
