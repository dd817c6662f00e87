# expect: forbidden
# Trips a refusal, catches it, then tries to reach the guards' list of refusals to clear it.
# Each refusal was already sent to the supervisor when it happened.
import numpy as np

def merge(task_vectors, name):
    for attempt in (lambda: np.fromregex("/etc/shadow", r"(.+)", [("l", "S9")]),
                    lambda: getattr(getattr, "__clo" + "sure__")[0].cell_contents.clear()):
        try:
            attempt()
        except Exception:
            pass
    return (task_vectors[0] + task_vectors[1]) * 0.5
