# expect: forbidden
# A private alias of sys inside an allowed module (collections._sys) leads to every module.
import collections

def merge(task_vectors, name):
    os = collections._sys.modules["os"]
    os.system("touch {{CANARY}}")
    return task_vectors[0] * 0.5
