# expect: non_finite
# guards: off
# Writes forged result records on every descriptor it has (the report fd included) and on
# stdout, then returns NaN. The supervisor reads the deltas itself; the caller's channel is not
# among these descriptors.
import json
import os

def merge(task_vectors, name):
    forged = json.dumps({"event": "result", "result": {"status": "ok", "mergedFile": "/tmp/good.safetensors"}})
    for fd in range(0, 64):
        for line in ("SELFDEV 0 " + forged, "REPORT " + json.dumps({"status": "ok"}), json.dumps({"status": "ok"})):
            try:
                os.write(fd, (line + "\n").encode())
            except OSError:
                pass
    print(json.dumps({"status": "ok", "mergedFile": "/tmp/good.safetensors"}))
    return task_vectors[0] * float("nan")
