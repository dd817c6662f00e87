"""The sandboxed runner: merge arithmetic, scope, dtypes, failure classes, determinism and the
sandbox's layers, on small numpy-written models (and the demo models when they are built)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from runner_fixtures import PY_DIR, REPO, job, load_model, make_world, read_output
from selfdev_runner import checks, st_io, supervisor
from selfdev_runner.supervisor import run_job

HALF_SUM = "import numpy as np\nLAMBDA = 0.5\ndef merge(task_vectors, name):\n    return LAMBDA * np.sum(task_vectors, axis=0)\n"
LIMITS = {"wallSeconds": 20, "cpuSeconds": 20, "memoryMB": 1024}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("runner"), n_candidates=3)


def expected_half_sum(w, names):
    seed = w["base"]
    cands = [load_model(c) for c in w["candidates"]]
    return {n: seed[n] + 0.5 * sum(c[n] - seed[n] for c in cands) for n in names}


def test_merges_the_scope_and_only_the_scope(world, tmp_path):
    r = run_job(job(world, HALF_SUM, scratch=str(tmp_path / "s")))
    assert r["status"] == "ok", r
    out = read_output(r["mergedFile"])
    scope = [n for n in world["base"] if ".mlp." in n]
    assert sorted(out) == sorted(scope)  # parameters outside the scope stay the seed's (not written)
    for n, want in expected_half_sum(world, scope).items():
        np.testing.assert_allclose(out[n], want, rtol=1e-6, atol=1e-7)
    assert r["parameters"] == len(scope)
    stats = r["deltaStats"]
    assert stats["elements"] == sum(world["base"][n].size for n in scope)
    assert 0 < stats["meanAbs"] <= stats["rms"] <= stats["maxAbs"]
    assert stats["zeroFraction"] == 0.0 and 0 < stats["relativeNorm"] < 1
    for key in ("checkMs", "workerWallMs", "mergeMs", "validateWriteMs", "totalMs"):
        assert r["timings"][key] >= 0
    assert r["peakMemoryMB"] > 0
    assert r["sandbox"]["auditHook"] and r["sandbox"]["limits"]["addressSpaceMB"] > 0


def test_custom_scope_regex(world, tmp_path):
    r = run_job(job(world, HALF_SUM, scratch=str(tmp_path / "s"), mergeScope=r"layers\.1\.mlp\.up_proj"))
    assert r["status"] == "ok"
    assert list(read_output(r["mergedFile"])) == ["model.layers.1.mlp.up_proj.weight"]
    bad = run_job(job(world, HALF_SUM, scratch=str(tmp_path / "t"), mergeScope="nothing-matches"))
    assert bad["errorClass"] == "setup" and "merge scope" in bad["detail"]


@pytest.mark.parametrize("dtype", ["BF16", "F16"])
def test_half_precision_models(tmp_path, dtype):
    w = make_world(tmp_path / "w", n_candidates=2, dtype=dtype, layers=1)
    r = run_job(job(w, HALF_SUM, scratch=str(tmp_path / "s")))
    assert r["status"] == "ok", r
    tensors, _, _ = st_io.read_header(r["mergedFile"])
    assert {t.dtype for t in tensors.values()} == {dtype}  # written in the seed's dtype
    out = read_output(r["mergedFile"])
    want = expected_half_sum(w, list(out))
    for n in out:
        exact = st_io.to_float32(st_io.from_float32(want[n].astype(np.float32), dtype), dtype)
        np.testing.assert_array_equal(out[n], exact)


def test_bf16_conversion_rounds_to_nearest_even():
    x = np.array([1.0, 1.00390625, 1.01171875, -2.5, 3.0e38], dtype=np.float32)
    bits = st_io.bf16_bits(x)
    back = st_io.to_float32(bits, "BF16")
    np.testing.assert_array_equal(back[[0, 3]], x[[0, 3]])
    assert back[1] == 1.0  # halfway, rounds to even
    assert back[2] == np.float32(1.015625)


def test_torch_library(world, tmp_path):
    src = "import torch\ndef merge(task_vectors, name):\n    return 0.5 * torch.stack(task_vectors).sum(0)\n"
    r = run_job(job(world, src, scratch=str(tmp_path / "s"), tensorLibrary="torch", device="auto"))
    assert r["status"] == "ok", r
    assert r["sandbox"]["device"] in ("cpu", "cuda") and r["sandbox"]["torchLoaded"]
    out = read_output(r["mergedFile"])
    for n, want in expected_half_sum(world, list(out)).items():
        np.testing.assert_allclose(out[n], want, rtol=1e-6, atol=1e-6)
    wrong = run_job(job(world, HALF_SUM, scratch=str(tmp_path / "t"), tensorLibrary="torch", device="cpu"))
    assert wrong["errorClass"] == "dtype"  # numpy result in a torch run


def test_numpy_runs_never_load_torch(world, tmp_path):
    r = run_job(job(world, HALF_SUM, scratch=str(tmp_path / "s")))
    assert r["sandbox"]["torchLoaded"] is False
    code = ("import sys; sys.path.insert(0, %r); from selfdev_runner import supervisor, st_io, checks, sandbox; "
            "print('torch' in sys.modules)" % str(PY_DIR))
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_constants_are_substituted(world, tmp_path):
    a = run_job(job(world, HALF_SUM, scratch=str(tmp_path / "a"), constants={"LAMBDA": 0.25}))
    assert a["status"] == "ok"
    out = read_output(a["mergedFile"])
    full = expected_half_sum(world, list(out))
    for n in out:
        seed = world["base"][n]
        np.testing.assert_allclose(out[n] - seed, 0.5 * (full[n] - seed), rtol=1e-5, atol=1e-6)
    bad = run_job(job(world, HALF_SUM, scratch=str(tmp_path / "b"), constants={"NOPE": 1}))
    assert bad["errorClass"] == "setup"


def test_random_algorithms_repeat(world, tmp_path):
    src = ("import random\nimport numpy as np\ndef merge(task_vectors, name):\n"
           "    k = random.randrange(len(task_vectors))\n"
           "    return task_vectors[k] * np.random.random_sample(task_vectors[k].shape).astype(np.float32)\n")
    outs = []
    for i, seed in enumerate([1, 1, 2]):
        r = run_job(job(world, src, scratch=str(tmp_path / f"s{i}"), randomSeed=seed))
        assert r["status"] == "ok", r
        outs.append(read_output(r["mergedFile"]))
    assert all(np.array_equal(outs[0][n], outs[1][n]) for n in outs[0])
    assert not all(np.array_equal(outs[0][n], outs[2][n]) for n in outs[0])


def test_inputs_modified_in_place_do_not_leak(world, tmp_path):
    src = ("def merge(task_vectors, name):\n    task_vectors[0] *= 0.0\n"
           "    return task_vectors[1] * 0.5 + task_vectors[2] * 0.5\n")
    r = run_job(job(world, src, scratch=str(tmp_path / "s")))
    assert r["status"] == "ok", r
    assert load_model(world["seed"])["model.layers.0.mlp.up_proj.weight"].tolist() == world["base"]["model.layers.0.mlp.up_proj.weight"].tolist()


def test_single_candidate_task_vector_is_a_no_op(tmp_path):
    w = make_world(tmp_path / "w", n_candidates=1, layers=1)
    r = run_job(job(w, "def merge(task_vectors, name):\n    return task_vectors[0] * 1.0\n", scratch=str(tmp_path / "s")))
    assert r["errorClass"] == "no_op" and "candidate 1" in r["detail"]
    assert not os.path.exists(tmp_path / "s" / "merged.safetensors")


def test_tiny_delta_that_leaves_the_seed_unchanged_is_a_no_op(world, tmp_path):
    r = run_job(job(world, "def merge(task_vectors, name):\n    return task_vectors[0] * 1e-30\n", scratch=str(tmp_path / "s")))
    assert r["errorClass"] == "no_op" and "equals the seed" in r["detail"]


def test_setup_errors_are_not_the_algorithms_fault(world, tmp_path):
    j = job(world, HALF_SUM, scratch=str(tmp_path / "s"))
    j["candidates"] = j["candidates"] + [str(tmp_path / "missing")]
    r = run_job(j)
    assert r["status"] == "failed" and r["errorClass"] == "setup"


def test_every_failure_class_has_a_one_line_message():
    for cls, msg in checks.MESSAGES.items():
        assert msg and "\n" not in msg and len(msg) < 120, cls


@pytest.mark.parametrize("src,cls", [
    ("def merge(a, b, c):\n    return a\n", "bad_signature"),
    ("def merge(*args):\n    return args[0][0]\n", None),
    ("def merge(task_vectors, name, scale=1.0):\n    return task_vectors[0]\n", None),
    ("async def merge(task_vectors, name):\n    return 0\n", "bad_signature"),
    ("merge = 3\n", "missing_function"),
    ("import numpy.ctypeslib\ndef merge(t, n):\n    return t[0]\n", "forbidden"),
    ("from math import *\ndef merge(t, n):\n    return t[0]\n", "forbidden"),
    ("from . import x\ndef merge(t, n):\n    return t[0]\n", "forbidden"),
    ("import torch.nn.functional as F\ndef merge(t, n):\n    return t[0]\n", None),
    ("def merge(t, n):\n    return getattr(t[0], '__class__')\n", "forbidden"),
])
def test_static_contract_check(src, cls):
    if cls is None:
        checks.check_source(src)
    else:
        with pytest.raises(checks.ContractError) as e:
            checks.check_source(src)
        assert e.value.error_class == cls


def test_merge_that_is_not_a_function_at_run_time(world, tmp_path):
    r = run_job(job(world, "merge = lambda t, n: t[0]\nmerge = 3\n", scratch=str(tmp_path / "s")))
    assert r["errorClass"] == "missing_function"


# --- sandbox layers, each on its own ---------------------------------------------------------

def test_environment_is_scrubbed(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    env = supervisor.scrubbed_env(str(tmp_path), 1)
    assert "GITHUB_TOKEN" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["HOME"] == str(tmp_path) and env["PYTHONHASHSEED"] == "0"
    assert not any("secret" in v for v in env.values())


def test_readable_folders_are_pythons_own_not_the_callers():
    roots = supervisor._read_roots()
    assert str(REPO) not in roots and os.getcwd() not in roots
    assert str(PY_DIR) in roots


def _hooked(code: str, scratch: Path) -> subprocess.CompletedProcess:
    prog = (f"import sys; sys.path.insert(0, {str(PY_DIR)!r})\n"
            "from selfdev_runner import sandbox\nv = []\n"
            f"sandbox.install_audit_hook({str(scratch)!r}, [sys.prefix, sys.base_prefix], v)\n"
            "try:\n" + "".join(f"    {line}\n" for line in code.splitlines()) +
            "    print('ALLOWED')\nexcept sandbox.SandboxViolation as e:\n    print('REFUSED', e)\n")
    return subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("code,allowed", [
    ("import socket\ns = socket.socket()", False),
    ("open('/etc/passwd').read()", False),
    ("open('/etc/hostname', 'w')", False),
    ("import os\nos.system('true')", False),
    ("import os\nos.fork()", False),
    ("import ctypes", False),
    ("import subprocess", False),
    ("import os\nos.remove('/tmp/nothing-here')", False),
    ("open('x.txt', 'w').write('ok')", True),  # inside scratch (the cwd)
])
def test_audit_hook_alone(tmp_path, code, allowed, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = _hooked(code, tmp_path)
    assert ("ALLOWED" if allowed else "REFUSED") in r.stdout, r.stdout + r.stderr


def test_network_namespace_here():
    prefix = supervisor.network_prefix()
    if prefix is None:
        pytest.skip("unshare is not permitted on this machine (the audit hook still blocks sockets)")
    code = "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    print('CONNECTED')\nexcept OSError as e:\n    print('NO NETWORK', e.errno)"
    r = subprocess.run(prefix + [sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "NO NETWORK" in r.stdout, r.stdout + r.stderr


def test_apply_algorithm_script_prints_the_record(world, tmp_path):
    j = job(world, HALF_SUM, scratch=str(tmp_path / "s"), resultFile=str(tmp_path / "result.json"))
    r = subprocess.run([sys.executable, str(PY_DIR / "apply_algorithm.py")], input=json.dumps(j),
                       capture_output=True, text=True, timeout=60)
    record = json.loads(r.stdout.strip().splitlines()[-1])
    assert record["status"] == "ok" and os.path.exists(record["mergedFile"])
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "ok"


DEMO = REPO / "resources" / "demo"


def test_demo_models_when_built(tmp_path):
    cfg = json.loads((DEMO / "demo.run.json").read_text())
    folders = [DEMO / cfg["seed"], *[DEMO / c for c in cfg["candidates"]]]
    if not all((f / "model.safetensors").exists() for f in folders):
        pytest.skip("the demo models are not built yet")
    j = {"seedModel": str(folders[0]), "candidates": [str(f) for f in folders[1:]], "scratch": str(tmp_path / "s"),
         "mergeScope": cfg["mergeScope"], "algorithmFile": str(REPO / "resources" / "algorithms" / "task_arithmetic.py"),
         "limits": LIMITS}
    r = run_job(j)
    assert r["status"] == "ok", r
    assert len(read_output(r["mergedFile"])) == 12  # 4 layers x gate/up/down
