"""The human baselines (resources/algorithms/): definitions on hand-checkable tensors, mergekit
as the judge of task arithmetic and TIES, DARE's statistics, and every baseline through the
runner."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from runner_fixtures import ALGORITHMS, job, load_model, make_world, read_output
from selfdev_runner import checks
from selfdev_runner.supervisor import run_job

BASELINES = ["task_arithmetic", "ties", "dare", "average", "worked_example"]


def load(name: str, **constants):
    """The baseline's module namespace with constants substituted (as the runner does)."""
    source = (ALGORITHMS / f"{name}.py").read_text()
    source = checks.substitute_constants(source, constants)
    ns: dict = {"__name__": f"baseline_{name}"}
    exec(compile(source, f"{name}.py", "exec"), ns)
    return ns


def f32(x):
    return np.asarray(x, dtype=np.float32)


@pytest.mark.parametrize("name", BASELINES)
def test_follows_the_contract_and_has_a_grid(name):
    source = (ALGORITHMS / f"{name}.py").read_text()
    checks.check_source(source)  # no exception: allowed imports, merge(task_vectors, name)
    consts = checks.module_constants(source)
    assert isinstance(consts.get("GRID"), dict)
    for key, values in consts["GRID"].items():
        assert key in consts, f"GRID names {key}, which is not a module constant"
        assert values, key
    variants = checks.grid_variants(source)
    assert len(variants) == max(1, int(np.prod([len(v) for v in consts["GRID"].values()])))
    for v in variants:
        assert checks.module_constants(checks.substitute_constants(source, v)).items() >= v.items()


def test_constant_substitution_changes_one_line_and_rejects_unknown_names():
    source = (ALGORITHMS / "task_arithmetic.py").read_text()
    changed = checks.substitute_constants(source, {"LAMBDA": 0.25})
    diff = [(a, b) for a, b in zip(source.splitlines(), changed.splitlines()) if a != b]
    assert diff == [("LAMBDA = 0.5", "LAMBDA = 0.25")]
    with pytest.raises(KeyError):
        checks.substitute_constants(source, {"LAMDBA": 0.25})


def test_task_arithmetic_by_hand():
    merge = load("task_arithmetic", LAMBDA=0.5)["merge"]
    out = merge([f32([[1, 2], [3, 4]]), f32([[1, 0], [0, 1]])], "w")
    np.testing.assert_array_equal(out, f32([[1, 1], [1.5, 2.5]]))


def test_average_by_hand():
    merge = load("average")["merge"]
    np.testing.assert_array_equal(merge([f32([2, 4]), f32([0, 0]), f32([1, -1])], "w"), f32([1, 1]))


def test_ties_by_hand():
    # density 0.5 of 4 entries keeps 2 per vector: t1 -> [3,0,0,2], t2 -> [-2,-3,0,0];
    # sums [1,-3,0,2] elect [+,-,+,+]; the agreeing entries' means are [3,-3,0,2].
    merge = load("ties", DENSITY=0.5, LAMBDA=1.0)["merge"]
    t1, t2 = f32([3, -1, 0.5, 2]), f32([-2, -3, 1, 0.1])
    np.testing.assert_array_equal(merge([t1, t2], "w"), f32([3, -3, 0, 2]))
    half = load("ties", DENSITY=0.5, LAMBDA=0.5)["merge"]
    np.testing.assert_array_equal(half([t1, t2], "w"), f32([1.5, -1.5, 0, 1]))
    # both agree on entry 0: the mean, not the sum
    np.testing.assert_array_equal(merge([f32([4, 0]), f32([2, 0])], "w"), f32([3, 0]))


def test_worked_example_by_hand():
    merge = load("worked_example", SCALE=1.0)["merge"]
    # two equal vectors and one opposite: the opposite one has negative agreement, weight 0
    a = f32([1, 1])
    out = merge([a, a, -a], "w")
    np.testing.assert_allclose(out, a, rtol=1e-6)


def test_dare_statistics_match_the_definition():
    p = 0.4
    ns = load("dare", DROP_P=p, LAMBDA=1.0, COMBINE="task_arithmetic")
    np.random.seed(7)
    tau = f32(np.full(200_000, 2.0))
    out = ns["merge"]([tau], "w")
    kept = out != 0
    frac = kept.mean()
    sigma = np.sqrt(p * (1 - p) / tau.size)
    assert abs(frac - (1 - p)) < 5 * sigma  # kept fraction
    np.testing.assert_allclose(out[kept], 2.0 / (1 - p), rtol=1e-6)  # rescaling
    assert abs(out.mean() - 2.0) < 5 * 2.0 / (1 - p) * sigma  # expectation preserved
    # the same seed gives the same mask; another seed another one
    np.random.seed(7)
    np.testing.assert_array_equal(ns["merge"]([tau], "w"), out)
    np.random.seed(8)
    assert not np.array_equal(ns["merge"]([tau], "w"), out)


def test_dare_with_ties_combines_rescaled_vectors_by_sign():
    ns = load("dare", DROP_P=0.0, LAMBDA=1.0, COMBINE="ties")
    out = ns["merge"]([f32([3, -1]), f32([-2, -3])], "w")
    np.testing.assert_array_equal(out, f32([3, -2]))  # elect [+,-]; means [3], [-1,-3]


# --- mergekit as the judge ------------------------------------------------------------------

def mergekit():
    if importlib.util.find_spec("mergekit") is None:
        pytest.skip("mergekit is not installed (pip install --no-deps mergekit==0.1.5; see requirements-runner.txt)")
    import torch
    from mergekit.merge_methods import merge_tensors

    return torch, merge_tensors


@pytest.mark.parametrize("lam", [0.3, 1.0])
def test_task_arithmetic_matches_mergekit(lam):
    torch, merge_tensors = mergekit()
    g = torch.Generator().manual_seed(1)
    base = torch.randn(24, 16, generator=g)
    cands = [base + 0.1 * torch.randn(24, 16, generator=g) for _ in range(3)]
    expected = merge_tensors([base] + cands, "task_arithmetic", parameters={"weight": lam}, base_index=0) - base
    ours = load("task_arithmetic", LAMBDA=lam)["merge"]([c - base for c in cands], "w")
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("density,lam", [(0.2, 1.0), (0.5, 0.6), (1.0, 1.0)])
def test_ties_matches_mergekit(density, lam):
    torch, merge_tensors = mergekit()
    g = torch.Generator().manual_seed(2)
    base = torch.randn(32, 20, generator=g)
    cands = [base + 0.1 * torch.randn(32, 20, generator=g) for _ in range(3)]
    params = {"weight": 1.0, "density": density, "lambda": lam}
    expected = merge_tensors([base] + cands, "ties", parameters=params, base_index=0) - base
    taus = [c - base for c in cands]
    ours = load("ties", DENSITY=density, LAMBDA=lam)["merge"](taus, "w")  # torch in, torch out
    assert isinstance(ours, torch.Tensor)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)


def _dare_against_mergekit(method, rescale, normalize, constants, seed=4, p=0.4, lam=0.7):
    """Our dare.py and mergekit's `method` on the same random masks: mergekit draws its masks with
    torch.bernoulli, which is patched here to hand out the masks numpy draws for dare.py."""
    torch, merge_tensors = mergekit()
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(24, 18, generator=g)
    cands = [base + 0.1 * torch.randn(24, 18, generator=g) for _ in range(3)]
    taus = [(c - base).numpy() for c in cands]
    np.random.seed(seed)
    masks = [np.random.random_sample(t.shape) >= p for t in taus]  # dare.py's draws, in its order
    np.random.seed(seed)
    ours = load("dare", DROP_P=p, LAMBDA=lam, **constants)["merge"](taus, "w")
    handed = iter(masks)
    real = torch.bernoulli
    torch.bernoulli = lambda probs, *a, **k: torch.from_numpy(next(handed).astype(np.float32)).to(probs.dtype)
    try:
        params = {"weight": 1.0, "density": 1.0 - p, "lambda": lam, "rescale": rescale, "normalize": normalize}
        expected = merge_tensors([base] + cands, method, parameters=params, base_index=0) - base
    finally:
        torch.bernoulli = real
    np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rescale,constant", [(True, "l1"), (False, "none")])
def test_dare_task_arithmetic_matches_mergekit_dare_linear(rescale, constant):
    _dare_against_mergekit("dare_linear", rescale, False, {"COMBINE": "task_arithmetic", "RESCALE": constant})


@pytest.mark.parametrize("normalize,combine", [(True, "disjoint_mean"), (False, "sum")])
@pytest.mark.parametrize("rescale,constant", [(True, "l1"), (False, "none")])
def test_dare_ties_matches_mergekit_dare_ties(normalize, combine, rescale, constant):
    _dare_against_mergekit("dare_ties", rescale, normalize, {"COMBINE": "ties", "TIES_COMBINE": combine, "RESCALE": constant})


def test_dare_default_rescale_is_the_papers_and_differs_from_mergekits():
    """The default keeps each entry's expected value (divide by 1 - p); mergekit matches the L1
    norm per tensor instead: the two agree only in expectation."""
    rng = np.random.default_rng(0)
    tau = rng.normal(0, 1, (64, 64)).astype(np.float32)
    np.random.seed(1)
    paper = load("dare", DROP_P=0.5, LAMBDA=1.0)["merge"]([tau], "w")
    np.random.seed(1)
    l1 = load("dare", DROP_P=0.5, LAMBDA=1.0, RESCALE="l1")["merge"]([tau], "w")
    kept = paper != 0
    np.testing.assert_array_equal(kept, l1 != 0)  # the same entries survive
    np.testing.assert_allclose(paper[kept], tau[kept] * 2.0, rtol=1e-6)
    assert abs(float(np.abs(l1).sum()) - float(np.abs(tau).sum())) < 1e-2 * float(np.abs(tau).sum())
    assert not np.allclose(paper, l1)


# --- through the runner -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("baselines"), n_candidates=3)


# torch workers take about 2 s to start on this machine: two baselines cover the torch path
# (one pure-operator baseline, one that goes through numpy and back).
@pytest.mark.parametrize("name,library", [(b, "numpy") for b in BASELINES] + [("task_arithmetic", "torch"), ("ties", "torch")])
def test_runs_in_the_runner(world, name, library, tmp_path):
    source = (ALGORITHMS / f"{name}.py").read_text()
    j = job(world, source, tensorLibrary=library, device="cpu", scratch=str(tmp_path / "s"))
    r = run_job(j)
    assert r["status"] == "ok", r
    out = read_output(r["mergedFile"])
    seed = world["base"]
    assert set(out) == {n for n in seed if ".mlp." in n}
    if name in ("task_arithmetic", "average"):
        cands = [load_model(c) for c in world["candidates"]]
        ns = load(name)
        for n, merged in out.items():
            expected = seed[n] + ns["merge"]([c[n] - seed[n] for c in cands], n)
            np.testing.assert_allclose(merged, expected, rtol=1e-6, atol=1e-6)


def test_dare_repeats_in_the_runner_and_depends_on_the_run_seed(world, tmp_path):
    source = (ALGORITHMS / "dare.py").read_text()
    runs = []
    for i, seed in enumerate([5, 5, 6]):
        r = run_job(job(world, source, randomSeed=seed, scratch=str(tmp_path / f"s{i}")))
        assert r["status"] == "ok", r
        runs.append(read_output(r["mergedFile"]))
    for n in runs[0]:
        np.testing.assert_array_equal(runs[0][n], runs[1][n])
    assert any(not np.array_equal(runs[0][n], runs[2][n]) for n in runs[0])
