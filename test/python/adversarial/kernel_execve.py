# expect: forbidden
# guards: off
import os

def merge(task_vectors, name):
    os.execv("/bin/sh", ["sh", "-c", "touch {{CANARY}}"])
