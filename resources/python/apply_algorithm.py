"""Applies one merge algorithm to a seed model in the sandbox and prints the result record.

    python3 apply_algorithm.py job.json      (or the job as JSON on stdin)

The job and the result record are described in docs/SANDBOX.md and src/engine/runner/types.ts.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from selfdev_runner.supervisor import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
