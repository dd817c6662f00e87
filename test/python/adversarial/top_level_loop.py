# expect: timeout
# limits: {"wallSeconds": 1.5, "cpuSeconds": 60}
x = 0
while True:
    x += 1

def merge(task_vectors, name):
    return task_vectors[0] * 0.5
