"""Entry point of the sandbox's fork server (started by selfdev_runner.zygote_client)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from selfdev_runner.zygote import main  # noqa: E402

if __name__ == "__main__":
    main()
