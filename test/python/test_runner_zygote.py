"""The sandbox's fork server (zygote): a warm supervisor's workers are forked from one zygote per
sandbox, with results identical to one-shot workers, nothing of one algorithm reaching the next
(scratch, memory, IPC), the zygote unreachable from its workers, and a zygote in any doubt thrown
away with its sandbox. The hostile suite runs through a zygote too (test_runner_adversarial)."""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from runner_fixtures import job, make_world
from selfdev_runner import zygote_client
from selfdev_runner.supervisor import run_job
from test_runner_isolation import SYSTEM_PYTHON, open_world  # noqa: F401  (the fixture: a world uid 65534 can read)

ADVERSARIAL = Path(__file__).resolve().parent / "adversarial"
GOOD = "def merge(task_vectors, name):\n    return (task_vectors[0] + task_vectors[1]) * 0.5\n"
LIMITS = {"wallSeconds": 5, "cpuSeconds": 4, "memoryMB": 512}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("zygote"), n_candidates=3, layers=2)


@pytest.fixture
def zygotes():
    z = zygote_client.Zygotes()
    yield z
    z.close()


def run(world, tmp_path, source, zygotes, name="s", **extra):
    return run_job(job(world, source, scratch=str(tmp_path / name), limits=dict(LIMITS, **extra.pop("limits", {})), **extra),
                   zygotes=zygotes)


def zygote_pid(z: zygote_client.Zygote) -> int:
    """The host pid of the zygote: the descendant of its bwrap that runs sandbox_zygote.py."""
    todo = [z.proc.pid]
    while todo:
        pid = todo.pop()
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                todo += [int(c) for c in f.read().split()]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().split(b"\0")
        if pid != z.proc.pid and any(part.endswith(b"sandbox_zygote.py") for part in cmd) and b"bwrap" not in cmd[0]:
            return pid
    raise AssertionError("no zygote process under its bwrap")


def memory_holds(pid: int, needle: bytes) -> bool:
    """Whether any readable mapping of `pid` holds `needle` (read as root, from outside)."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if "r" not in perms:
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            try:
                mem.seek(lo)
                if needle in mem.read(hi - lo):
                    return True
            except (OSError, OverflowError, ValueError):
                continue
    return False


def test_forked_workers_merge_exactly_as_one_shot_workers(world, tmp_path, zygotes):
    sources = [GOOD,
               "import numpy as np\ndef merge(t, n):\n    return np.median(np.stack(t), axis=0) * 0.9\n",
               "import numpy as np\ndef merge(t, n):\n    t[0] *= 0.5\n    return t[0] + np.sign(t[1]) * 0.01\n"]
    for k, src in enumerate(sources * 2):  # in-place changes of the inputs stay in their worker
        fresh = run(world, tmp_path, src, None, name=f"f{k}")
        forked = run(world, tmp_path, src, zygotes, name=f"z{k}")
        assert fresh["status"] == forked["status"] == "ok", (fresh, forked)
        assert fresh["sandbox"]["worker"] == "fresh" and forked["sandbox"]["worker"] == "forked"
        assert forked["mergedSha256"] == fresh["mergedSha256"]
        assert forked["deltaStats"] == fresh["deltaStats"]
        assert forked["sandbox"]["uid"] == 65534 and forked["sandbox"]["seccomp"] is True
    assert zygotes.started == 1 and zygotes.current.jobs == 6


def test_torch_workers_are_forked_too(world, tmp_path, zygotes):
    src = "import torch\ndef merge(task_vectors, name):\n    return 0.5 * torch.stack(task_vectors).sum(0)\n"
    a = run(world, tmp_path, src, zygotes, name="a", tensorLibrary="torch", device="cpu")
    b = run(world, tmp_path, src, zygotes, name="b", tensorLibrary="torch", device="cpu")
    fresh = run(world, tmp_path, src, None, name="c", tensorLibrary="torch", device="cpu")
    assert a["status"] == b["status"] == "ok", (a, b)
    assert a["sandbox"]["torchLoaded"] and b["sandbox"]["worker"] == "forked"
    assert a["mergedSha256"] == b["mergedSha256"] == fresh["mergedSha256"]
    assert zygotes.started == 1
    # A numpy job needs another sandbox (torch is not imported there): a second zygote.
    c = run(world, tmp_path, GOOD, zygotes, name="d")
    assert c["status"] == "ok" and c["sandbox"]["torchLoaded"] is False and zygotes.started == 2


def test_what_an_algorithm_leaves_in_scratch_is_gone_for_the_next(world, tmp_path, zygotes):
    src = (ADVERSARIAL / "kernel_scratch_leftovers.py").read_text()
    for k in range(3):
        r = run(world, tmp_path, src, zygotes, name=f"s{k}", pythonGuards=False)
        assert r["status"] == "ok", r
        assert "BEFORE=[]" in r["output"], r["output"]
    assert zygotes.started == 1  # the same zygote cleaned up after each


def test_the_zygote_keeps_nothing_of_a_job_in_its_memory(world, tmp_path, zygotes):
    marker = "selfdev-marker-" + secrets.token_hex(12)
    src = f"MARK = {marker!r}\n" + GOOD
    r = run(world, tmp_path, src, zygotes)
    assert r["status"] == "ok", r
    pid = zygote_pid(zygotes.current)
    assert memory_holds(pid, b"/selfdev/models/2")  # the search finds what the zygote does hold
    assert not memory_holds(pid, marker.encode()), "the zygote's memory holds a job's source"
    assert not memory_holds(pid, r["algorithmSha256"].encode())


def test_a_worker_cannot_signal_or_read_its_zygote(world, tmp_path, zygotes):
    assert run(world, tmp_path, GOOD, zygotes, name="warm")["status"] == "ok"
    kill = ("import os\ndef merge(t, n):\n    os.kill(os.getppid(), 9)\n    return t[0] * 0.5\n")
    r = run(world, tmp_path, kill, zygotes, name="k", pythonGuards=False)
    assert r["errorClass"] == "forbidden", r
    sees = run(world, tmp_path, (ADVERSARIAL / "kernel_sees_no_process.py").read_text(), zygotes, name="p", pythonGuards=False)
    assert "OTHERS=1 READABLE=[]" in sees["output"], sees["output"]
    assert zygotes.started == 1 and zygotes.current.alive


def test_a_timed_out_worker_is_killed_and_the_zygote_serves_on(world, tmp_path, zygotes):
    spin = "def merge(t, n):\n    while True:\n        pass\n"
    t0 = time.monotonic()
    r = run(world, tmp_path, spin, zygotes, name="t", limits={"wallSeconds": 1.5, "cpuSeconds": 30})
    assert r["errorClass"] == "timeout" and "wall-clock" in r["detail"], r
    assert time.monotonic() - t0 < 10
    after = run(world, tmp_path, GOOD, zygotes, name="after")
    assert after["status"] == "ok" and zygotes.started == 1


def test_a_dead_zygote_is_replaced(world, tmp_path, zygotes):
    assert run(world, tmp_path, GOOD, zygotes, name="a")["status"] == "ok"
    first = zygotes.current
    os.kill(zygote_pid(first), signal.SIGKILL)
    first.proc.wait(timeout=10)
    r = run(world, tmp_path, GOOD, zygotes, name="b")
    assert r["status"] == "ok" and r["sandbox"]["worker"] == "forked", r
    assert zygotes.started == 2 and zygotes.current is not first


def test_a_zygote_killed_mid_job_fails_that_job_and_not_the_next(world, tmp_path, zygotes):
    assert run(world, tmp_path, GOOD, zygotes, name="a")["status"] == "ok"
    z = zygotes.current
    slow = "import time\ndef merge(t, n):\n    time.sleep(0.5)\n    return t[0] * 0.5\n"
    killer = subprocess.Popen(["sh", "-c", f"sleep 0.3; kill -9 {zygote_pid(z)}"])
    r = run(world, tmp_path, slow, zygotes, name="b")
    killer.wait()
    assert r["status"] == "failed" and r["errorClass"] in ("exception", "setup"), r
    assert not z.alive
    assert run(world, tmp_path, GOOD, zygotes, name="c")["status"] == "ok"
    assert zygotes.started == 2


def test_the_warm_supervisor_forks_its_workers(world, tmp_path):
    """`apply_algorithm.py --serve` (what the extension runs): one zygote for the jobs of a run,
    and SELFDEV_RUNNER_ZYGOTE=0 for a one-shot sandbox per job."""
    lines = [json.dumps(job(world, GOOD, scratch=str(tmp_path / f"j{k}"), limits=LIMITS)) for k in range(3)]
    script = Path(zygote_client.HERE).parent / "apply_algorithm.py"
    for flag, expected in (("1", "forked"), ("0", "fresh")):
        p = subprocess.run(["python3", "-s", "-B", str(script), "--serve"], input="\n".join(lines) + "\n",
                           capture_output=True, text=True, timeout=120, env=dict(os.environ, SELFDEV_RUNNER_ZYGOTE=flag))
        records = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
        assert [r["status"] for r in records] == ["ok"] * 3, p.stderr
        assert [r["sandbox"]["worker"] for r in records] == [expected] * 3
        assert len({r["mergedSha256"] for r in records}) == 1


def test_unprivileged_zygote_workers_cannot_read_it(open_world):
    """In bwrap's user-namespace mode the zygote and its workers share uid 65534: only the
    zygote's non-dumpability keeps its memory and files closed to them."""
    w, d, runner = open_world
    sees = (ADVERSARIAL / "kernel_sees_no_process.py").read_text()
    leftovers = (ADVERSARIAL / "kernel_scratch_leftovers.py").read_text()
    jobs = []
    for k, src in enumerate([GOOD, sees, leftovers, leftovers]):
        scratch = Path(tempfile.mkdtemp(dir=d))
        os.chmod(scratch, 0o777)
        jobs.append(json.dumps({"seedModel": str(w["seed"]), "candidates": [str(c) for c in w["candidates"]],
                                "scratch": str(scratch), "source": src, "pythonGuards": k == 0,
                                "limits": {"wallSeconds": 20, "cpuSeconds": 20}}))
    p = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", SYSTEM_PYTHON, "-s", "-B",
                        str(runner / "apply_algorithm.py"), "--serve"], input="\n".join(jobs) + "\n",
                       capture_output=True, text=True, timeout=120)
    records = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    assert [r["status"] for r in records] == ["ok"] * 4, (p.stderr, records)
    assert all(r["sandbox"]["worker"] == "forked" and "user" in r["sandbox"]["namespaces"] for r in records)
    assert re.search(r"OTHERS=1 READABLE=\[\]", records[1]["output"]), records[1]["output"]
    assert "BEFORE=[]" in records[2]["output"] and "BEFORE=[]" in records[3]["output"], records[3]["output"]


def test_unprivileged_one_shot_workers_cannot_reach_bwraps_init(open_world):
    """Without a zygote (SELFDEV_RUNNER_ZYGOTE=0), bwrap's init is the sandbox's PID 1; in
    user-namespace mode it has the worker's uid and is dumpable, so the sandbox hides its /proc
    entry: nothing of it (mem, environ, maps, fds) opens."""
    w, d, runner = open_world
    scratch = Path(tempfile.mkdtemp(dir=d))
    os.chmod(scratch, 0o777)
    job = json.dumps({"seedModel": str(w["seed"]), "candidates": [str(c) for c in w["candidates"]], "scratch": str(scratch),
                      "source": (ADVERSARIAL / "kernel_sees_no_process.py").read_text(), "pythonGuards": False,
                      "limits": {"wallSeconds": 20, "cpuSeconds": 20}})
    p = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", SYSTEM_PYTHON, "-s", "-B",
                        str(runner / "apply_algorithm.py"), "--serve"], input=job + "\n",
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, SELFDEV_RUNNER_ZYGOTE="0"))
    records = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    assert [r["status"] for r in records] == ["ok"], (p.stderr, records)
    assert records[0]["sandbox"]["worker"] == "fresh" and "user" in records[0]["sandbox"]["namespaces"]
    assert re.search(r"OTHERS=1 READABLE=\[\]", records[0]["output"]), records[0]["output"]
