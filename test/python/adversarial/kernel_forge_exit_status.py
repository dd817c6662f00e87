# expect: forbidden
# guards: off
# Exit status 137 would read as "killed by SIGKILL" (out of memory, not its fault); the kernel
# does not let the worker exit with a status above 3.
import os

def merge(task_vectors, name):
    os._exit(137)
