# expect: ok
# guards: off
# output: PIDS=\[1, 2\]
# Lists every process it can see: only the sandbox's own init and itself.
import os

def merge(task_vectors, name):
    print("PIDS=" + str(sorted(int(p) for p in os.listdir("/proc") if p.isdigit())))
    return (task_vectors[0] + task_vectors[1]) * 0.5
