# expect: ok
# guards: off
# output: BEFORE=\[\]
# Leaves files in the sandbox's scratch (a folder it closes to everyone, a read-only file, a
# symlink) for the next algorithm, and first lists what an earlier one left: nothing,
# whether the worker is a fresh sandbox or forked by a zygote that served other algorithms.
import os

calls = []


def merge(task_vectors, name):
    calls.append(name)
    if len(calls) > 1:
        return (task_vectors[0] + task_vectors[1]) * 0.5
    found = []
    for root, dirs, files in os.walk("."):
        found += [os.path.join(root, n) for n in dirs + files]
    print("BEFORE=" + str(sorted(found)))
    os.makedirs("left/deep", exist_ok=True)
    with open("left/deep/note.txt", "w") as f:
        f.write("from an earlier algorithm")
    os.chmod("left/deep/note.txt", 0o400)
    os.chmod("left/deep", 0)
    os.chmod("left", 0)
    with open("visible.txt", "w") as f:
        f.write("x" * 1000)
    os.symlink("/selfdev/models/0", "link")
    return (task_vectors[0] + task_vectors[1]) * 0.5
