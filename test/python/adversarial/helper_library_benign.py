# expect: ok
# The helper library of the algorithm contract (selfdev_merge), imported inside merge too.
from selfdev_merge import as_arrays, finish, trim_top_k


def merge(task_vectors, name):
    from selfdev_merge import sign_elected_merge
    taus = [trim_top_k(t, 0.5) for t in as_arrays(task_vectors)]
    return finish(sign_elected_merge(taus, "mass", "mean") + 0.5 * (taus[0] + taus[1]), task_vectors)
