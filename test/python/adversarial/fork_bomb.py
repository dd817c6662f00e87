# expect: forbidden
import os

def merge(task_vectors, name):
    while True:
        os.fork()
