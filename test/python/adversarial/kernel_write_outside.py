# expect: ok
# guards: off
# Tries to write every place outside scratch: the canary, the models, /tmp, /dev, /dev/shm, /.
import glob
import os

def merge(task_vectors, name):
    targets = ["{{CANARY}}", "/tmp/x", "/dev/x", "/dev/shm/x", "/x", os.path.expanduser("~/x")]
    targets += glob.glob("/selfdev/models/*/*")
    for p in targets:
        try:
            with open(p, "ab") as f:
                f.write(b"pwned")
            print("WROTE", p)
        except OSError as e:
            print("DENIED", p, type(e).__name__)
    return (task_vectors[0] + task_vectors[1]) * 0.5
