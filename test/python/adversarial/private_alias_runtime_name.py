# expect: forbidden
# The private name is built at run time, so the syntax-tree check cannot see it; the guarded
# getattr refuses it (and the refusal reaches the supervisor even though it is caught).
import collections

def merge(task_vectors, name):
    try:
        sys_ = getattr(collections, "_" + "sys")
        sys_.modules["os"].system("touch {{CANARY}}")
    except Exception:
        pass
    return (task_vectors[0] + task_vectors[1]) * 0.5
