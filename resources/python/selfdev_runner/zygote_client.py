"""The supervisor's side of a sandbox's fork server (zygote.py): starts one, hands it a job's
descriptors, waits for its worker with the wall-clock limit, and throws it away at the first
sign of trouble.

A warm supervisor (`--serve`) keeps one zygote for the models, tensor library, threads and
scratch size of its jobs (a run's jobs share them) and starts a new one when they change. Any
doubt ends the zygote with its whole sandbox (bwrap's PID namespace and scratch tmpfs go with
it) and the next job gets a new one: a zygote that fails to start or to answer, a worker that
had to be killed and was not reported back, a scratch that could not be emptied.
"""
from __future__ import annotations

import array
import json
import os
import select
import signal
import socket
import subprocess
import time
from typing import Dict, List, Optional, Sequence

from .procs import Reader, killpg, pdeathsig

HERE = os.path.dirname(os.path.abspath(__file__))
ZYGOTE = os.path.join(os.path.dirname(HERE), "sandbox_zygote.py")
START_SECONDS = 120.0
ANSWER_SECONDS = 30.0  # STARTED, and EXITED after a kill (reaping and the scratch cleaner)


class ZygoteError(Exception):
    """The zygote did not do what it must; it has been stopped."""


class Zygote:
    def __init__(self, key: str, argv: List[str], pass_fds: Sequence[int], config: dict):
        """`argv`: the bubblewrap command that runs sandbox_zygote.py; `pass_fds`: what it needs
        (the startup seccomp filter). Blocks until the zygote is READY."""
        self.key = key
        #: The worker job fields and sandbox description of the plan it was started from.
        self.plan: tuple = ({}, {})
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        child_fd = child.fileno()  # the same number in the zygote (pass_fds keeps numbers)
        self.sock = parent
        self.facts: Dict[str, object] = {}
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/",
                env={"PATH": "/usr/bin:/bin"}, pass_fds=(child.fileno(), *pass_fds), start_new_session=True,
                preexec_fn=pdeathsig, close_fds=True)
        except OSError as e:
            parent.close()
            raise ZygoteError(f"cannot start the sandbox's fork server: {e}") from None
        finally:
            child.close()
        self.pgid = self.proc.pid
        self.stderr = Reader(self.proc.stderr, 16 * 1024)
        try:
            self.proc.stdin.write(json.dumps(dict(config, socketFd=child_fd)).encode())
            self.proc.stdin.close()
            kind, payload = self._receive(time.monotonic() + START_SECONDS)
        except (OSError, ZygoteError) as e:
            self.close()
            raise ZygoteError(f"the sandbox's fork server did not start: {e}: {self.stderr.text()[-800:]}") from None
        if kind != "READY":
            self.close()
            raise ZygoteError(f"the sandbox's fork server said {kind} instead of READY")
        self.facts = payload
        self.jobs = 0

    def _receive(self, deadline: float, fds: Optional[list] = None):
        """The next message as (kind, payload), and the descriptors it carries into `fds`;
        ZygoteError past the deadline or at its end."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ZygoteError("no answer in time")
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            raw, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(4))
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    got = array.array("i")
                    got.frombytes(data[: len(data) - len(data) % got.itemsize])
                    if fds is None:
                        for fd in got:
                            os.close(fd)
                    else:
                        fds.extend(got)
            if not raw:
                raise ZygoteError("it exited")
            kind, _, rest = raw.decode("utf-8", "replace").partition(" ")
            try:
                return kind, (json.loads(rest) if rest else {})
            except ValueError:
                raise ZygoteError(f"an unreadable {kind} message") from None

    def run(self, job: bytes, report_w: int, delta_fd: int, out_w: int, err_w: int, deadline: float) -> dict:
        """Runs one worker: {'status': wait status or None, 'timedOut', 'maxRssKB', 'cpuSeconds',
        'clean'}. The caller's descriptors stay the caller's to close. ZygoteError (after
        stopping the zygote) when it does not answer as it must."""
        job_fd = os.memfd_create("selfdev-job", os.MFD_CLOEXEC)
        try:
            view = memoryview(job)
            while view:
                view = view[os.write(job_fd, view):]
            fds = array.array("i", [job_fd, report_w, delta_fd, out_w, err_w])
            self.sock.sendmsg([b"RUN"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
        except OSError as e:
            self.close()
            raise ZygoteError(f"cannot hand the job to the fork server: {e}") from None
        finally:
            os.close(job_fd)
        self.jobs += 1
        pidfds: list = []
        timed_out = False
        try:
            kind, _ = self._receive(time.monotonic() + ANSWER_SECONDS, pidfds)
            if kind != "STARTED" or len(pidfds) != 1:
                raise ZygoteError(f"it said {kind} with {len(pidfds)} descriptors instead of STARTED with a pidfd")
            try:
                kind, payload = self._receive(deadline)
            except ZygoteError:
                if self.proc.poll() is not None:
                    raise
                timed_out = True
                signal.pidfd_send_signal(pidfds[0], signal.SIGKILL)
                kind, payload = self._receive(time.monotonic() + ANSWER_SECONDS)
            if kind != "EXITED" or not isinstance(payload.get("status"), int):
                raise ZygoteError(f"it said {kind} instead of EXITED")
        except (OSError, ZygoteError) as e:
            self.close()
            raise ZygoteError(f"the sandbox's fork server failed: {e}") from None
        finally:
            for fd in pidfds:
                os.close(fd)
        if not payload.get("clean"):
            self.close()  # its scratch holds what a worker left: never reused
        return {"status": payload["status"], "timedOut": timed_out, "maxRssKB": float(payload.get("maxRssKB", 0)),
                "cpuSeconds": float(payload.get("cpuSeconds", 0)), "clean": bool(payload.get("clean"))}

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Ends the zygote and its sandbox (every worker in it goes with bwrap's PID namespace)."""
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            killpg(self.pgid)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


class Zygotes:
    """The warm supervisor's fork server: one at a time, for the latest key."""

    def __init__(self) -> None:
        self.current: Optional[Zygote] = None
        self.started = 0

    def get(self, key: str) -> Optional[Zygote]:
        z = self.current
        if z is not None and z.key == key and z.alive:
            return z
        self.close()
        return None

    def add(self, z: Zygote) -> None:
        self.close()
        self.current = z
        self.started += 1

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None
