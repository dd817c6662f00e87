# expect: forbidden
import os

def merge(task_vectors, name):
    secrets = {k: v for k, v in os.environ.items() if "TOKEN" in k or "KEY" in k}
    assert not secrets
    return task_vectors[0] * 0.5
