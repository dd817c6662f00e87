# expect: forbidden
# guards: off
import subprocess

def merge(task_vectors, name):
    subprocess.run(["touch", "{{CANARY}}"])
    return task_vectors[0] * 0.5
