"""Hostile and broken algorithms (test/python/adversarial/): each ends in its failure class,
the host survives, the next algorithm runs normally, and nothing escapes: no file outside scratch
changes, no secret reaches the output, no connection reaches the host, no process survives.

Each case says `# expect: CLASS`; it may add `# limits: {...}`, `# output: REGEX` (what the
algorithm must have seen) and `# guards: off`: the kernel sandbox on its own, as if the
algorithm had escaped every Python-level guard. `{{CANARY}}`, `{{SECRET_FILE}}` and `{{PORT}}`
in a case are replaced by a file that must not appear, a secret file outside the sandbox, and a
loopback listener that must receive nothing."""
from __future__ import annotations

import glob
import json
import os
import re
import secrets
import socket
import threading
import time
from pathlib import Path

import pytest

from runner_fixtures import file_snapshot, job, make_world
from selfdev_runner import checks, zygote_client
from selfdev_runner.supervisor import run_job

HERE = Path(__file__).resolve().parent / "adversarial"
CASES = sorted(HERE.glob("*.py"))
CANARIES = ["/tmp/selfdev-adversarial-pwned*", os.path.expanduser("~/selfdev-adversarial-pwned*")]
GOOD = "def merge(task_vectors, name):\n    return (task_vectors[0] + task_vectors[1]) * 0.5\n"
FAST_LIMITS = {"wallSeconds": 3, "cpuSeconds": 2, "memoryMB": 512, "outputChars": 4096, "fileMB": 16}


def expectation(path: Path):
    text = path.read_text()
    m = re.search(r"^# expect: (\w+)", text, re.M)
    assert m, f"{path.name} has no '# expect:' line"
    lim = re.search(r"^# limits: (\{.*\})", text, re.M)
    return m.group(1), (json.loads(lim.group(1)) if lim else {})


def directives(path: Path):
    text = path.read_text()
    out = re.search(r"^# output: (.+)$", text, re.M)
    return {"guards": not re.search(r"^# guards: off$", text, re.M), "output": out.group(1) if out else None}


class Listener:
    """A loopback TCP server that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.accepted += 1
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


TICKS = os.sysconf("SC_CLK_TCK")


def uptime_ticks() -> int:
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]) * TICKS)


def sandbox_processes(since: int = 0):
    """Processes started since `since` (clock ticks after boot) that run as the sandbox uid or run
    the worker: none may outlive a job."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
            started = int(stat.rsplit(")", 1)[1].split()[19])
            uid = int(open(f"/proc/{pid}/status").read().split("Uid:")[1].split()[0])
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
        except (OSError, IndexError, ValueError):
            continue
        if started >= since and (uid == 65534 or b"sandbox_worker.py" in cmd):
            found.append((pid, uid, cmd[:100]))
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    w = make_world(root, n_candidates=2, layers=1)
    w["root"] = root
    # A secret the sandbox must not read: a file beside the models (like a sealed test split)
    # and a variable in the supervisor's environment.
    w["secret"] = "selfdev-secret-" + secrets.token_hex(8)
    w["secret_file"] = root / "sealed" / "test.jsonl"
    w["secret_file"].parent.mkdir()
    w["secret_file"].write_text(w["secret"] + "\n")
    return w


def test_the_suite_is_large_enough_and_covers_every_class():
    assert len(CASES) >= 60
    assert sum(not directives(p)["guards"] for p in CASES) >= 20  # the kernel layer on its own
    classes = {expectation(p)[0] for p in CASES}
    assert set(checks.FAILURE_CLASSES) - {"setup"} <= classes, set(checks.FAILURE_CLASSES) - classes


@pytest.fixture(scope="module", params=["fresh", "forked"])
def workers(request):
    """How each worker starts: a one-shot sandbox, or forked by one warm zygote that serves every
    case of the suite in turn (so each case also runs right after the previous hostile one)."""
    if request.param == "fresh":
        yield request.param, None
        return
    zygotes = zygote_client.Zygotes()
    yield request.param, zygotes
    zygotes.close()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_hostile_algorithm(world, path, tmp_path, monkeypatch, workers):
    mode, zygotes = workers
    expected, limits = expectation(path)
    d = directives(path)
    models = [world["seed"], *world["candidates"], world["secret_file"].parent]
    before = file_snapshot(models)
    for pattern in CANARIES:
        for f in glob.glob(pattern):
            os.unlink(f)
    canary = f"/tmp/selfdev-adversarial-pwned-{path.stem}"
    listener = Listener()
    started = uptime_ticks() - 1
    monkeypatch.setenv("SELFDEV_TEST_TOKEN", world["secret"])
    source = (path.read_text().replace("{{CANARY}}", canary).replace("{{SECRET_FILE}}", str(world["secret_file"]))
              .replace("{{PORT}}", str(listener.port)))
    try:
        r = run_job(job(world, source, scratch=str(tmp_path / "scratch"), limits=dict(FAST_LIMITS, **limits),
                        pythonGuards=d["guards"]), zygotes=zygotes)
        time.sleep(0.05)
    finally:
        listener.close()

    got = r["status"] if r["status"] == "ok" else r["errorClass"]
    assert got == expected, json.dumps(r, indent=1)[:2000]
    if "sandbox" in r:  # the worker ran (a contract failure stops before that)
        assert r["isolation"] == "kernel" and r["sandbox"]["seccomp"] is True
        assert r["sandbox"]["worker"] == mode
    else:
        assert r["isolation"] == "none"
    if d["output"]:
        assert re.search(d["output"], r.get("output", "")), r.get("output", "")[:2000]
    # nothing escaped: no secret in anything the algorithm could influence, no connection, no process
    text = json.dumps(r)
    assert world["secret"] not in text, "a secret reached the result record"
    assert listener.accepted == 0, "a connection reached the host"
    assert sandbox_processes(started) == [], sandbox_processes(started)
    assert not os.path.exists(canary)
    if r["status"] == "failed":
        assert r["message"] == checks.MESSAGES[expected]
        assert r["detail"]
        assert "mergedFile" not in r
    assert len(r.get("output", "")) <= FAST_LIMITS["outputChars"] + 100  # plus the "dropped" note
    # nothing outside scratch changed, and the scratch the caller gave holds nothing of the algorithm's
    assert file_snapshot(models) == before
    leftovers = [p for p in (tmp_path / "scratch").glob("*") if p.name != "merged.safetensors"] if (tmp_path / "scratch").exists() else []
    assert leftovers == [], leftovers
    for pattern in CANARIES:
        assert not glob.glob(pattern), pattern
    # and the next algorithm runs normally
    good = run_job(job(world, GOOD, scratch=str(tmp_path / "next"), limits=FAST_LIMITS), zygotes=zygotes)
    assert good["status"] == "ok", good


def test_traceback_is_trimmed_to_the_algorithms_lines(world, tmp_path):
    r = run_job(job(world, (HERE / "raises.py").read_text(), scratch=str(tmp_path / "s"), limits=FAST_LIMITS))
    assert r["errorClass"] == "exception"
    assert "KeyError" in r["detail"] and "line 3, in helper" in r["detail"]
    assert "line 6, in merge" in r["traceback"] and "line 3, in helper" in r["traceback"]
    assert "site-packages" not in r["traceback"] and "selfdev_runner" not in r["traceback"]


def test_big_output_is_capped(world, tmp_path):
    r = run_job(job(world, (HERE / "big_output.py").read_text(), scratch=str(tmp_path / "s"), limits=FAST_LIMITS))
    assert r["status"] == "ok"
    assert len(r["output"]) <= FAST_LIMITS["outputChars"] + 100
    assert "dropped" in r["output"] or len(r["output"]) == FAST_LIMITS["outputChars"]
