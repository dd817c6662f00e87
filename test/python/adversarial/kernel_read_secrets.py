# expect: ok
# guards: off
# As if every Python guard had been escaped: try to read what lies outside the sandbox (a secret
# file next to the models, the host's files, other processes' environments) and print it. The
# test checks that no secret reached the output.
import os

def merge(task_vectors, name):
    for p in ("{{SECRET_FILE}}", "/etc/shadow", "/root/.ssh/id_rsa", "/proc/1/environ",
              "/proc/self/environ", "/etc/passwd", os.path.expanduser("~/.bash_history")):
        try:
            with open(p, "rb") as f:
                print("READ", p, f.read(200))
        except OSError as e:
            print("DENIED", p, type(e).__name__)
    print("ENV", dict(os.environ))
    return (task_vectors[0] + task_vectors[1]) * 0.5
