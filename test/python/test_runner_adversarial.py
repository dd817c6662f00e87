"""Hostile and broken algorithms (test/python/adversarial/): each ends in its failure class,
the host survives, the next algorithm runs normally, and nothing outside scratch changes."""
from __future__ import annotations

import glob
import json
import os
import re
from pathlib import Path

import pytest

from runner_fixtures import file_snapshot, job, make_world
from selfdev_runner import checks
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


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    w = make_world(root, n_candidates=2, layers=1)
    w["root"] = root
    return w


def test_the_suite_is_large_enough_and_covers_every_class():
    assert len(CASES) >= 20
    classes = {expectation(p)[0] for p in CASES}
    assert set(checks.FAILURE_CLASSES) - {"setup"} <= classes, set(checks.FAILURE_CLASSES) - classes


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_hostile_algorithm(world, path, tmp_path):
    expected, limits = expectation(path)
    models = [world["seed"], *world["candidates"]]
    before = file_snapshot(models)
    for pattern in CANARIES:
        for f in glob.glob(pattern):
            os.unlink(f)

    r = run_job(job(world, path.read_text(), scratch=str(tmp_path / "scratch"), limits=dict(FAST_LIMITS, **limits)))

    got = r["status"] if r["status"] == "ok" else r["errorClass"]
    assert got == expected, json.dumps(r, indent=1)[:2000]
    if r["status"] == "failed":
        assert r["message"] == checks.MESSAGES[expected]
        assert r["detail"]
        assert "mergedFile" not in r
    assert len(r.get("output", "")) <= FAST_LIMITS["outputChars"] + 100  # plus the "dropped" note
    # nothing outside scratch changed
    assert file_snapshot(models) == before
    for pattern in CANARIES:
        assert not glob.glob(pattern), pattern
    # and the next algorithm runs normally
    good = run_job(job(world, GOOD, scratch=str(tmp_path / "next"), limits=FAST_LIMITS))
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
