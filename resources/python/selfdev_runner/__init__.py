"""Sandboxed runner of model-merging algorithms (see docs/SANDBOX.md).

`supervisor.run_job` is the trusted side: it checks the algorithm's source, starts a worker
process under OS limits, validates the deltas the worker produced and writes the merged
tensors. `worker` is the untrusted side: it loads the algorithm inside the in-process sandbox
(`sandbox`) and calls `merge(task_vectors, name)` once per parameter of the merge scope.
"""
