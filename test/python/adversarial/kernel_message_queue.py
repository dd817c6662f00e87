# expect: forbidden
# guards: off
# Opens a System V message queue and a POSIX one: both outlive the worker inside the sandbox's
# IPC namespace, a channel to the next algorithm of the same zygote.
import ctypes

def merge(task_vectors, name):
    libc = ctypes.CDLL(None, use_errno=True)
    q = libc.msgget(0x5e1f, 0o1000 | 0o666)  # IPC_CREAT
    print("QUEUE", q)
    mq = libc.mq_open(b"/selfdev-leak", 0o100 | 2, 0o666, None)  # O_CREAT | O_RDWR
    print("MQ", mq)
    return task_vectors[0] * 0.5
