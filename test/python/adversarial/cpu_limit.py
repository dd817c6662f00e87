# expect: timeout
# limits: {"wallSeconds": 20, "cpuSeconds": 1}
# Burns CPU well under the wall clock: the CPU-time limit stops it, and that is a timeout.
def merge(task_vectors, name):
    x = 0
    while True:
        x += 1
