# expect: ok
# guards: off
# output: OTHERS=1 READABLE=\[\]
# Lists every process it can see: one besides itself (the sandbox's own init, or for a forked
# worker the zygote, which is the sandbox's PID 1), and none of its private files (memory,
# environment, maps, fds).
import os

def merge(task_vectors, name):
    me = os.getpid()
    others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me]
    readable = []
    for p in others:
        for f in ("mem", "environ", "maps", "fd"):
            try:
                if f == "fd":
                    os.listdir(f"/proc/{p}/fd")
                else:
                    open(f"/proc/{p}/{f}", "rb").close()
                readable.append(f"{p}/{f}")
            except OSError:
                pass
    print("OTHERS=" + str(len(others)) + " READABLE=" + str(readable))
    return (task_vectors[0] + task_vectors[1]) * 0.5
