# expect: forbidden
# guards: off
# A connection to a listener on the host's loopback: the test checks none arrived.
import socket

def merge(task_vectors, name):
    s = socket.create_connection(("127.0.0.1", {{PORT}}), timeout=2)
    s.sendall(b"exfiltrated")
    return task_vectors[0] * 0.5
