"""Kernel isolation as a whole: whether it is there, what a job does without it (refused with
the reason and the fix, or run unisolated when the user allowed it), the unprivileged
(user-namespace) mode a non-root user gets, scratch clean-up, and the record of which mode ran."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from runner_fixtures import PY_DIR, job, make_world
from selfdev_runner import isolation
from selfdev_runner.supervisor import run_job

GOOD = "def merge(task_vectors, name):\n    return (task_vectors[0] + task_vectors[1]) * 0.5\n"
ADVERSARIAL = Path(__file__).resolve().parent / "adversarial"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("isolation"), n_candidates=2, layers=1)


@pytest.fixture
def no_bwrap(monkeypatch):
    """A machine without bubblewrap."""
    monkeypatch.setenv("SELFDEV_BWRAP", "/nonexistent/bwrap")
    isolation._probe_cache.clear()
    yield
    isolation._probe_cache.clear()


def test_this_machine_has_kernel_isolation():
    isolation._probe_cache.clear()
    p = isolation.probe(trial=True)
    assert p["available"] is True, p
    assert p["bwrapVersion"]


def test_probe_says_why_not_and_how_to_fix(no_bwrap):
    p = isolation.probe(trial=True)
    assert p["available"] is False
    assert "bubblewrap" in p["reason"] and "apt-get install bubblewrap" in p["fix"]


def test_without_isolation_a_job_is_refused_with_the_fix_and_nothing_runs(world, tmp_path, no_bwrap):
    canary = tmp_path / "ran"
    src = f"open({str(canary)!r}, 'w').close()\n" + GOOD  # would run at load time
    r = run_job(job(world, src, scratch=str(tmp_path / "s"), pythonGuards=False, isolation="kernel"))
    assert r["status"] == "failed" and r["errorClass"] == "setup"
    assert r["isolationRefused"] is True and r["isolation"] == "none"
    assert "bubblewrap" in r["detail"] and "allowUnisolated" in r["detail"] and "--allow-unisolated" in r["detail"]
    assert not canary.exists() and "mergedFile" not in r
    assert not (tmp_path / "s" / "merged.safetensors").exists()


def test_the_user_can_opt_in_to_unisolated_runs_and_the_record_says_so(world, tmp_path, no_bwrap):
    r = run_job(job(world, GOOD, scratch=str(tmp_path / "s"), allowUnisolated=True))
    assert r["status"] == "ok", r
    assert r["isolation"] == "unisolated" and r["sandbox"]["isolation"] == "unisolated"
    assert r["sandbox"]["seccomp"] is False


def test_opting_in_changes_nothing_where_isolation_exists(world, tmp_path):
    isolation._probe_cache.clear()
    r = run_job(job(world, GOOD, scratch=str(tmp_path / "s"), allowUnisolated=True))
    assert r["status"] == "ok" and r["isolation"] == "kernel"


def test_guards_can_be_switched_off_only_under_kernel_isolation(world, tmp_path):
    r = run_job(job(world, GOOD, scratch=str(tmp_path / "s"), isolation="unisolated", pythonGuards=False))
    assert r["errorClass"] == "setup" and "only under kernel isolation" in r["detail"]


def test_scratch_holds_only_the_merged_file_and_the_sandbox_leaves_nothing(world, tmp_path):
    src = "import numpy as np\n" + GOOD.replace("    return", "    np.zeros(1000, dtype=np.float32)\n    return")
    scratch = tmp_path / "s"
    before = set(os.listdir(tempfile.gettempdir()))
    r = run_job(job(world, src, scratch=str(scratch)))
    assert r["status"] == "ok", r
    assert sorted(os.listdir(scratch)) == ["merged.safetensors"]  # the delta buffer is gone too
    assert set(os.listdir(tempfile.gettempdir())) - before == set()
    with open(r["mergedFile"], "rb") as f:
        import hashlib

        assert hashlib.sha256(f.read()).hexdigest() == r["mergedSha256"]


# --- the mode a non-root user gets: bubblewrap in a user namespace --------------------------

SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def open_world():
    """A world an unprivileged user can read, and a runner it can run (the system interpreter
    with Debian's numpy; pyenv's lives under /root)."""
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import numpy"], capture_output=True)
    assert probe.returncode == 0, "python3-numpy is missing: scripts/setup.sh installs it"
    d = Path(tempfile.mkdtemp(prefix="selfdev-userns-", dir="/tmp"))
    os.chmod(d, 0o755)
    w = make_world(d, n_candidates=2, layers=1)
    runner = d / "runner"
    shutil.copytree(PY_DIR, runner, ignore=shutil.ignore_patterns("__pycache__"))
    for p in [d, *d.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    yield w, d, runner
    shutil.rmtree(d, ignore_errors=True)


def run_as_nobody(open_world, source: str, guards: bool = True) -> dict:
    w, d, runner = open_world
    scratch = Path(tempfile.mkdtemp(dir=d))
    os.chmod(scratch, 0o777)
    j = {"seedModel": str(w["seed"]), "candidates": [str(c) for c in w["candidates"]], "scratch": str(scratch),
         "source": source, "pythonGuards": guards, "limits": {"wallSeconds": 20, "cpuSeconds": 20}}
    r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", SYSTEM_PYTHON, "-s", "-B",
                        str(runner / "apply_algorithm.py")], input=json.dumps(j), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def case(name: str) -> str:
    return (ADVERSARIAL / f"{name}.py").read_text().replace("{{CANARY}}", "/tmp/selfdev-userns-pwned")


def test_unprivileged_user_gets_a_user_namespace_sandbox(open_world):
    r = run_as_nobody(open_world, GOOD)
    assert r["status"] == "ok", r
    assert r["isolation"] == "kernel" and "user" in r["sandbox"]["namespaces"]


def test_unprivileged_sandbox_runs_as_65534_without_capabilities(open_world):
    r = run_as_nobody(open_world, case("kernel_runs_as_nobody"), guards=False)
    assert "UID=65534 GID=65534 CAPS=0000000000000000 NNP=1 SECCOMP=2" in r["output"], r


@pytest.mark.parametrize("name", ["kernel_os_fork", "kernel_socket_connect", "kernel_setsid", "kernel_forge_exit_status"])
def test_unprivileged_sandbox_refuses_what_the_privileged_one_does(open_world, name):
    text = case(name).replace("{{PORT}}", "9")
    r = run_as_nobody(open_world, text, guards=False)
    assert r["errorClass"] == "forbidden", r
    assert not os.path.exists("/tmp/selfdev-userns-pwned")


def test_unprivileged_sandbox_cannot_write_the_models(open_world):
    w, d, _ = open_world
    before = {p: p.stat().st_mtime_ns for p in d.rglob("*.safetensors") if "scratch" not in str(p) and "tmp" not in p.parent.name}
    r = run_as_nobody(open_world, case("kernel_write_outside"), guards=False)
    assert r["status"] == "ok", r
    assert "WROTE /selfdev/models" not in r["output"] and "DENIED /selfdev/models/0" in r["output"]
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_an_old_bubblewrap_is_refused_with_the_reason(tmp_path, monkeypatch, world):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bubblewrap 0.6.1'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SELFDEV_BWRAP", str(fake))
    isolation._probe_cache.clear()
    try:
        p = isolation.probe(trial=True)
        assert p["available"] is False and "0.6.1 is too old" in p["reason"]
        r = run_job(job(world, GOOD, scratch=str(tmp_path / "s")))
        assert r["errorClass"] == "setup" and r["isolationRefused"] and "0.6.1 is too old" in r["detail"]
    finally:
        isolation._probe_cache.clear()
