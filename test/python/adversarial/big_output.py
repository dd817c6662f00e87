# expect: ok
# Megabytes of output: kept up to the cap, the rest dropped; the merge itself is fine.
def merge(task_vectors, name):
    for _ in range(2000):
        print("x" * 1000)
    return (task_vectors[0] + task_vectors[1]) * 0.5
