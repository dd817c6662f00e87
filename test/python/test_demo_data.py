"""The demo world's benchmarks, run config and measurements are well-formed (standard library only)."""
import json
import re
from pathlib import Path

import pytest

from conftest import DEMO

DATA = DEMO / "data"
MATH_TYPES = {"Prealgebra", "Algebra", "Number Theory", "Counting & Probability", "Geometry",
              "Intermediate Algebra"}
STEP = re.compile(r"(\d+)([-+*/])(\d+)=(\d+)\.")


def rows(name):
    with open(DATA / f"{name}.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def question(r):
    return r["question"] if "question" in r else r["problem"]


def checked_steps(solution):
    """Every ``a<op>b=c.`` step of a solution is recomputed; returns the results in order."""
    results = []
    for a, op, b, c in STEP.findall(solution):
        a, b, c = int(a), int(b), int(c)
        if op == "+":
            v = a + b
        elif op == "-":
            v = a - b
        elif op == "*":
            v = a * b
        else:
            assert a % b == 0, f"inexact division {a}/{b}"
            v = a // b
        assert v == c, f"wrong step {a}{op}{b}={c}"
        results.append(c)
    assert results, f"no steps in {solution!r}"
    return results


def boxed(solution):
    m = re.findall(r"\\boxed\{([^{}]*)\}", solution)
    return m[-1] if m else None


@pytest.mark.parametrize("split,n", [("gsm_dev", 100), ("gsm_test", 500), ("fewshot_gsm", None)])
def test_gsm_style_rows(split, n):
    data = rows(split)
    if n is not None:
        assert len(data) == n
    assert len(data) >= 4
    for r in data:
        assert set(r) == {"question", "answer"}
        assert r["question"].strip().endswith("?")
        m = re.search(r"\n#### (-?\d+)$", r["answer"])
        assert m, r["answer"]
        results = checked_steps(r["answer"].split("####")[0])
        assert int(m.group(1)) == results[-1]


@pytest.mark.parametrize("split,per_type", [("math_dev", 10), ("math_test", 50), ("fewshot_math", None)])
def test_math_style_rows(split, per_type):
    data = rows(split)
    counts = {}
    for r in data:
        assert set(r) == {"problem", "solution", "level", "type"}
        assert r["type"] in MATH_TYPES
        assert re.fullmatch(r"Level [1-5]", r["level"])
        ans = boxed(r["solution"])
        assert ans is not None and re.fullmatch(r"-?\d+", ans), r["solution"]
        results = checked_steps(r["solution"])
        if "units digit" in r["problem"]:
            assert int(ans) == results[-1] % 10
        else:
            assert int(ans) == results[-1]
        counts[r["type"]] = counts.get(r["type"], 0) + 1
    assert set(counts) == MATH_TYPES
    if per_type is not None:
        assert all(c == per_type for c in counts.values()), counts


def test_splits_and_fewshot_are_pairwise_disjoint():
    names = ["gsm_dev", "gsm_test", "fewshot_gsm", "math_dev", "math_test", "fewshot_math"]
    sets = {n: [question(r) for r in rows(n)] for n in names}
    for n, qs in sets.items():
        assert len(qs) == len(set(qs)), f"duplicates inside {n}"
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not set(sets[a]) & set(sets[b]), f"{a} and {b} overlap"


def test_run_config_points_at_existing_files():
    cfg = json.loads((DEMO / "demo.run.json").read_text())
    paths = [cfg["seed"], *cfg["candidates"], *cfg["transfer"]]
    assert len(cfg["candidates"]) >= 3 and len(cfg["transfer"]) >= 2
    for p in paths:
        assert (DEMO / p / "config.json").is_file(), p
        assert (DEMO / p / "model.safetensors").is_file(), p
    for bench in cfg["benchmarks"].values():
        for key in ("dev", "test", "fewshot"):
            assert (DEMO / bench[key]).is_file(), bench[key]
    assert re.compile(cfg["mergeScope"]).match("model.layers.0.mlp.up_proj.weight")
    assert not re.compile(cfg["mergeScope"]).match("model.layers.0.self_attn.q_proj.weight")
    assert cfg["eval"]["decoding"] == "greedy"


def test_measured_landscape_meets_the_requirement():
    m = json.loads((DEMO / "measured.json").read_text())
    seed = m["models"]["seed"]["gsm_dev"]
    grid = m["baselines"]["main"]["grid"]
    best = max(r["gsm_dev"] for r in grid)
    assert best >= seed + 5, (best, seed)
    assert min(r["gsm_dev"] for r in grid) < seed - 5, "no merge clearly below the seed"
    for name, accs in m["models"].items():
        for split in ("gsm_dev", "gsm_test", "math_dev", "math_test"):
            assert 0 <= accs[split] <= 100
    dev_items = m["dev_items"]["seed"]
    assert len(dev_items["gsm_dev"]) == 100 and len(dev_items["math_dev"]) == 60


def test_readme_has_the_measured_table():
    readme = (DEMO / "README.md").read_text()
    m = json.loads((DEMO / "measured.json").read_text())
    assert "<!-- measured:start -->" in readme
    seed = m["models"]["seed"]
    assert f"| seed | {seed['gsm_dev']} | {seed['gsm_test']} |" in readme


def test_demo_world_size_limits():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file() and "work" not in p.relative_to(DEMO).parts)
    assert total <= 25 * 1024 * 1024, total
    for ckpt in (DEMO / "models").iterdir():
        size = sum(p.stat().st_size for p in ckpt.iterdir() if p.is_file())
        assert size <= 4 * 1024 * 1024, (ckpt.name, size)
