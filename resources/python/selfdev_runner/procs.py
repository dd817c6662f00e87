"""Child processes of the trusted side: started to die with the supervisor, their pipes drained
with a cap, their process groups killed."""
from __future__ import annotations

import errno
import os
import signal
import threading
import time
from typing import Optional


def pdeathsig() -> None:
    """In the child before exec: die with the supervisor, in a process group of its own."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001  (not Linux: the wall-clock kill still applies)
        pass


class Reader(threading.Thread):
    """Drains a pipe, keeping at most `limit` bytes (the rest is counted and dropped)."""

    def __init__(self, fileobj, limit: int, on_first=None):
        super().__init__(daemon=True)
        self.f = fileobj
        self.limit = limit
        self.on_first = on_first
        self.buf = bytearray()
        self.dropped = 0
        self.ready_at: Optional[float] = None
        self.start()

    def run(self) -> None:
        while True:
            try:
                chunk = self.f.read1(65536) if hasattr(self.f, "read1") else self.f.read(65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            if self.ready_at is None:
                self.ready_at = time.perf_counter()
                if self.on_first is not None and chunk.startswith(b"READY"):
                    self.on_first()
            self.feed(chunk)
            room = self.limit - len(self.buf)
            if room > 0:
                self.buf += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))

    def feed(self, chunk: bytes) -> None:
        pass

    def text(self) -> str:
        t = self.buf.decode("utf-8", "replace")
        if self.dropped:
            t += f"\n[... {self.dropped} more bytes dropped]"
        return t


def killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError as e:
        if e.errno not in (errno.ESRCH, errno.EPERM):
            raise
