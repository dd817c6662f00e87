# expect: ok
# guards: off
# Threads are not processes: they stay allowed.
import threading

def merge(task_vectors, name):
    out = []
    t = threading.Thread(target=lambda: out.append((task_vectors[0] + task_vectors[1]) * 0.5))
    t.start()
    t.join()
    return out[0]
