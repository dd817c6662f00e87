# expect: syntax
# Valid to the parser, refused by the compiler: the algorithm's error, not the runner's.
return 1

def merge(task_vectors, name):
    return task_vectors[0] * 0.5
