# expect: exception
def helper(x):
    return x["missing"]

def merge(task_vectors, name):
    return helper({}) * task_vectors[0]
