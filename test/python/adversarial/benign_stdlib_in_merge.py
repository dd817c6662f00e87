# expect: ok
# Standard-library modules of the allowlist imported inside merge, on first use.
def merge(task_vectors, name):
    import heapq
    import statistics
    import bisect
    import dataclasses
    import numbers
    import cmath
    weights = heapq.nlargest(2, [0.3, 0.7, 0.1])
    scale = statistics.mean(weights) + 0 * bisect.bisect([1, 2], 1.5) + 0 * abs(cmath.sqrt(-1))
    return (task_vectors[0] + task_vectors[1]) * scale
