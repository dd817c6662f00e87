"""The runner's own libseccomp binding (selfdev_runner/seccomp.py) against the official one
(Debian's python3-seccomp, for the system interpreter): the same rules must compile to the same
BPF program, byte for byte."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile

import pytest

from runner_fixtures import PY_DIR
from selfdev_runner import policy, seccomp

SYSTEM_PYTHON = "/usr/bin/python3"

ORACLE = r"""
import errno, json, sys
sys.path.insert(0, sys.argv[1])
import seccomp as official
from selfdev_runner import policy
spec = json.loads(sys.argv[2])
arch = official.Arch.NATIVE

def known(name):
    try:
        official.resolve_syscall(arch, name)
        return True
    except (ValueError, RuntimeError):
        return False

f = official.SyscallFilter(official.ALLOW)
if spec["which"] == "startup":
    for s in policy.STARTUP_KILL:
        if known(s):
            f.add_rule(official.KILL_PROCESS, s)
else:
    pid = spec["pid"]
    for s in policy.ALGORITHM_KILL:
        if known(s):
            f.add_rule(official.KILL_PROCESS, s)
    f.add_rule(official.KILL_PROCESS, "clone", official.Arg(0, official.MASKED_EQ, policy.CLONE_THREAD, 0))
    f.add_rule(official.ERRNO(errno.ENOSYS), "clone3")
    f.add_rule(official.KILL_PROCESS, "tgkill", official.Arg(0, official.NE, pid))
    f.add_rule(official.KILL_PROCESS, "rt_tgsigqueueinfo", official.Arg(0, official.NE, pid))
    f.add_rule(official.KILL_PROCESS, "exit_group", official.Arg(0, official.GT, 3))
with open(spec["out"], "wb") as out:
    f.export_bpf(out)
"""


def official_bpf(which: str, pid: int = 0) -> bytes:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import seccomp"], capture_output=True)
    assert probe.returncode == 0, "python3-seccomp is missing: scripts/setup.sh installs it (apt-get install python3-seccomp)"
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "prog.bpf")
        spec = json.dumps({"which": which, "pid": pid, "out": out})
        r = subprocess.run([SYSTEM_PYTHON, "-c", ORACLE, str(PY_DIR), spec], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        with open(out, "rb") as f:
            return f.read()


def ours(which: str, pid: int = 0) -> bytes:
    f = policy.startup_filter() if which == "startup" else policy.algorithm_filter(pid)
    try:
        return f.export_bpf()
    finally:
        f.release()


@pytest.mark.parametrize("which,pid", [("startup", 0), ("algorithm", 2), ("algorithm", 4242)])
def test_same_program_as_the_official_bindings(which, pid):
    mine = ours(which, pid)
    assert len(mine) % 8 == 0 and len(mine) > 8 * 20  # struct sock_filter is 8 bytes
    assert mine == official_bpf(which, pid)


def test_unknown_calls_are_skipped_and_errors_are_clear():
    f = seccomp.Filter(seccomp.ALLOW)
    try:
        assert f.add_rule(seccomp.KILL_PROCESS, "no_such_call_anywhere") is False
        assert f.add_rule(seccomp.ERRNO(errno.EPERM), "getpid") is True
        with pytest.raises(seccomp.SeccompError, match="rule for getpid"):
            f.add_rule(seccomp.ALLOW, "getpid", (9, seccomp.EQ, 1))  # argument 9 does not exist
    finally:
        f.release()


def test_a_loaded_filter_binds_the_process():
    code = ("import errno, os, sys; sys.path.insert(0, %r); from selfdev_runner import seccomp as s; "
            "f = s.Filter(s.ALLOW); f.add_rule(s.ERRNO(errno.EPERM), 'getppid'); f.load();\n"
            "try:\n    os.getppid(); print('allowed')\nexcept OSError: print('refused')\n"
            "print(os.getppid())") % str(PY_DIR)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    # os.getppid() cannot fail in Python; the raw call returns -EPERM, which CPython hands back as -1.
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["allowed", "-1"]
