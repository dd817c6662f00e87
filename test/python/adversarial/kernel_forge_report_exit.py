# expect: no_op
# guards: off
# Claims success on the report pipe and exits before writing any delta: the supervisor finds
# only zeros in the buffer.
import json
import os
import stat

def merge(task_vectors, name):
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, ("REPORT " + json.dumps({"status": "ok"}) + "\n").encode())
        except OSError:
            pass
    os._exit(0)
