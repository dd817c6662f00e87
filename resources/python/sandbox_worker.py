"""Entry point of the sandboxed worker process (started by selfdev_runner.supervisor)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from selfdev_runner.worker import main  # noqa: E402

if __name__ == "__main__":
    main()
