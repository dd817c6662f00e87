# expect: ok
# guards: off
# output: UID=65534 GID=65534 CAPS=0000000000000000 NNP=1 SECCOMP=2
import os

def merge(task_vectors, name):
    status = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
    print(f"UID={os.getuid()} GID={os.getgid()} CAPS={status['CapEff'].strip()} NNP={status['NoNewPrivs'].strip()} SECCOMP={status['Seccomp'].strip()}")
    return (task_vectors[0] + task_vectors[1]) * 0.5
