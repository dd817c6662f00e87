"""The fork server inside the sandbox (a zygote): a warm, trusted process that starts one fresh
worker process per algorithm, so an algorithm no longer pays a Python, numpy (or torch) and
model-mapping start-up.

Started by the supervisor through the same bubblewrap command as a one-shot worker (so every
namespace, the startup seccomp filter, the read-only root and the model binds are the same),
it imports the libraries, maps the models and computes the task vectors once, makes itself
non-dumpable, and then serves `RUN` requests on a SOCK_SEQPACKET control socket:

* The supervisor sends `RUN` with five descriptors (SCM_RIGHTS): a memfd holding the worker's
  job, the report pipe, the delta buffer, and the worker's stdout and stderr pipes. The zygote
  never reads the job: what an algorithm is, its source included, never enters the zygote's
  memory, so no later worker can inherit any of it.
* It forks. The child closes the control socket, takes the descriptors and runs exactly the
  one-shot worker's sequence (worker.run: limits, uid drop, the algorithm's seccomp filter, the
  Python guards, then the algorithm). The zygote answers `STARTED <pid>`.
* `KILL` kills the running child. When the child is gone, the zygote reaps it, has a cleaner
  (a fork that drops to the sandbox uid, the owner of whatever the algorithm left) empty the
  scratch tmpfs, and answers `EXITED {status, rusage, clean}`. A scratch that could not be
  emptied makes the supervisor discard the whole sandbox.

The zygote runs no algorithm code, never drops its own privileges and holds no thread. A child
cannot reach it: signals to other processes, ptrace and process_vm_* are killed by seccomp,
/proc/<zygote>/mem and its other private files are closed by non-dumpability (and by the uid in
bwrap's privileged mode), and SysV IPC and POSIX message queues, which would outlive a child
inside the shared IPC namespace, are refused by the algorithm's filter.
"""
from __future__ import annotations

import array
import ctypes
import importlib
import json
import os
import select
import signal
import socket
import stat
import sys
import time

import numpy as np

from . import isolation, seccomp, st_io, worker

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
#: Descriptors of a RUN request, in this order.
RUN_FDS = ("job", "report", "delta", "stdout", "stderr")
#: Task vectors kept in memory up to this size (a 7B seed's are streamed per parameter instead).
DEFAULT_PRELOAD_MB = 1024
CLEAN_SECONDS = 10.0

_libc = ctypes.CDLL(None, use_errno=True)


class Preloaded:
    """What every child inherits, copy-on-write: the mapped models and the task vectors of the
    parameters in scope (float32, candidate minus seed)."""

    def __init__(self, seed_folder: str, candidate_folders, names, limit_mb: float):
        self.seed = st_io.ModelFiles(seed_folder)
        self.cands = [st_io.ModelFiles(f) for f in candidate_folders]
        for m in [self.seed] + self.cands:
            m.open_all()
        self.taus = {}
        size = sum(self.seed.tensors[n].numel for n in names if n in self.seed.tensors) * 4 * len(self.cands)
        if size <= limit_mb * 1024 * 1024:
            for n in names:
                if n not in self.seed.tensors:
                    continue
                base = self.seed.float32(n)
                self.taus[n] = [c.float32(n) - base for c in self.cands]
        self.mb = round(size / 2**20, 3) if self.taus else 0.0

    def matches(self, job: dict) -> bool:
        return job.get("seedFolder") == self.seed.folder and list(job.get("candidateFolders", [])) == [c.folder for c in self.cands]


def _send(sock: socket.socket, kind: str, payload=None) -> None:
    sock.send((kind + ("" if payload is None else " " + json.dumps(payload))).encode())


def _receive_fds(anc) -> list:
    fds = []
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(data[: len(data) - (len(data) % a.itemsize)])
            fds.extend(a)
    return fds


def _close(fds) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _child(sock: socket.socket, fds: list, preloaded: Preloaded) -> None:
    """The fresh worker: never returns."""
    code = 1
    try:
        sock.close()
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        job_fd, report_fd, delta_fd, out_fd, err_fd = fds
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        _close([out_fd, err_fd])
        size = os.fstat(job_fd).st_size
        data = os.pread(job_fd, size, 0)
        os.close(job_fd)
        job = json.loads(data)
        del data
        job["reportFd"] = report_fd
        job["deltaFd"] = delta_fd
        report = worker.Report(report_fd)
        status = worker.run(job, report, preloaded if preloaded.matches(job) else None)
        report.line("REPORT", json.dumps(status, default=str))
        code = 0
    except BaseException as e:  # noqa: BLE001  (a failure of the worker's own set-up)
        try:
            os.write(2, f"worker: {type(e).__name__}: {e}\n".encode())
        except OSError:
            pass
    os._exit(code)


def _wipe(root: str) -> bool:
    """Empties `root` (the scratch tmpfs) as the owner of what the algorithm left: no entry is
    followed (the writer is dead, so nothing changes under the walk), folders are made
    passable first. True when it ends empty."""
    stack = [os.open(root, os.O_RDONLY | os.O_DIRECTORY)]
    deadline = time.monotonic() + CLEAN_SECONDS
    try:
        while stack and time.monotonic() < deadline:
            fd = stack[-1]
            pushed = False
            with os.scandir(fd) as entries:
                names = [e.name for e in entries]
            for name in names:
                st = os.lstat(name, dir_fd=fd)
                if stat.S_ISDIR(st.st_mode):
                    os.chmod(name, 0o700, dir_fd=fd)
                    try:
                        os.rmdir(name, dir_fd=fd)
                    except OSError:
                        stack.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd))
                        pushed = True
                        break
                else:
                    os.unlink(name, dir_fd=fd)
            if not pushed:
                os.close(stack.pop())  # emptied; its parent removes it on the next pass
        return not stack and not os.listdir(root)
    except OSError:
        return False
    finally:
        _close(stack)


def _clean(scratch: str) -> bool:
    """The scratch emptied by a cleaner process with the sandbox uid (in bwrap's privileged mode
    the zygote is uid 0 without CAP_DAC_OVERRIDE and could not enter a folder the algorithm
    closed), within CLEAN_SECONDS."""
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            isolation.drop_privileges()
            ok = _wipe(scratch)
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + CLEAN_SECONDS + 5
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return False
        time.sleep(0.002)


def _serve_one(sock: socket.socket, fds: list, preloaded: Preloaded, scratch: str) -> bool:
    """Runs one child to its end; False when the zygote must end (the supervisor is gone, or the
    scratch could not be emptied)."""
    pid = os.fork()
    if pid == 0:
        _child(sock, fds, preloaded)
    _close(fds)
    pidfd = os.pidfd_open(pid)
    try:
        # The supervisor kills through this pidfd: it may signal the sandbox uid, which the
        # zygote (uid 0 without CAP_KILL in bwrap's privileged mode) may not.
        sock.sendmsg([b"STARTED " + json.dumps({"pid": pid}).encode()],
                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [pidfd]).tobytes())])
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        poller.register(pidfd, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}
            if pidfd in ready:
                break
            if sock.fileno() in ready and not sock.recv(64):
                os._exit(0)  # the supervisor is gone: bwrap's PID namespace ends, and the child with it
    finally:
        os.close(pidfd)
    _, status, usage = os.wait4(pid, 0)
    clean = _clean(scratch)
    _send(sock, "EXITED", {"status": status, "maxRssKB": usage.ru_maxrss,
                           "cpuSeconds": usage.ru_utime + usage.ru_stime, "clean": clean})
    return clean


def main() -> None:
    config = json.loads(sys.stdin.read())
    sock = socket.socket(fileno=int(config["socketFd"]))
    t0 = time.perf_counter()
    # Nothing of the zygote's may be read or written through /proc by a child of the same uid.
    _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    if config.get("tensorLibrary") == "torch":
        import torch  # noqa: F401  (imported, never initialised: CUDA must not exist before fork)
    for name in worker.PRELOAD:
        importlib.import_module(name)
    seccomp.library()
    preloaded = Preloaded(config["seedFolder"], config["candidateFolders"], config.get("names", []),
                          float(config.get("preloadMB", DEFAULT_PRELOAD_MB)))
    np.zeros(1)  # numpy's lazy set-up done once, here
    _send(sock, "READY", {"ms": round((time.perf_counter() - t0) * 1000, 1), "taskVectorMB": preloaded.mb,
                          "preloaded": len(preloaded.taus)})
    while True:
        try:
            msg, anc, _, _ = sock.recvmsg(64, socket.CMSG_SPACE(len(RUN_FDS) * 4))
        except InterruptedError:
            continue
        if not msg:
            break
        fds = _receive_fds(anc)
        if not msg.startswith(b"RUN") or len(fds) != len(RUN_FDS):
            _close(fds)
            _send(sock, "ERROR", {"detail": "a RUN request carries five descriptors"})
            continue
        if not _serve_one(sock, fds, preloaded, config["scratch"]):
            break
    os._exit(0)
