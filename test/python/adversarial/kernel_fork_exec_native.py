# expect: forbidden
# guards: off
# Spawns a program from native code (no audit event): the kernel refuses the fork.
import _posixsubprocess
import os

def merge(task_vectors, name):
    r, w = os.pipe()
    _posixsubprocess.fork_exec(["/usr/bin/touch", "{{CANARY}}"], [b"/usr/bin/touch"], True, (), None, None,
                               -1, -1, -1, -1, -1, -1, r, w, True, True, False, None, None, None, -1, None, False)
    return task_vectors[0] * 0.5
