# expect: timeout
# limits: {"cpuSeconds": 1, "wallSeconds": 10}
def merge(task_vectors, name):
    while True:
        pass
