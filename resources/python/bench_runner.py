"""Benchmark of the sandboxed runner, measured side by side in one run.

    python3 resources/python/bench_runner.py [--mb 256] [--repeat 3] [--json]

1. Merge throughput: MB of task vectors per second of the runner applying task arithmetic
   (process start, sandbox, validation and the written file included) against the same
   arithmetic done in this process with numpy on the same memory-mapped tensors
   (tau_j = C_j - seed, delta = 0.5 * sum_j tau_j, merged = seed + delta). Target ratio >= 0.5.
   The runner is measured both ways it runs: one-shot (a sandbox per job) and warm (a worker
   forked by the sandbox's zygote, which holds the task vectors: what a run's later algorithms
   pay).
2. Fixed overhead per algorithm on the demo models (when built): the runner's total time for a
   trivial algorithm, with numpy and with torch, under kernel isolation (bubblewrap, seccomp),
   forked by a zygote, and, interleaved with them, unisolated: the difference is what isolation
   costs per algorithm (target <= 50 ms).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from selfdev_runner import st_io, zygote_client  # noqa: E402
from selfdev_runner.supervisor import run_job  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TA = os.path.join(REPO, "resources", "algorithms", "task_arithmetic.py")
TRIVIAL = "def merge(task_vectors, name):\n    return task_vectors[0] * 0.5\n"


def make_models(root: str, mb: int, n_cands: int = 3):
    rng = np.random.default_rng(0)
    rows, cols = 1024, 2048  # 8 MB per float32 tensor
    n = max(1, mb // 8)
    names = [f"model.layers.{i}.mlp.up_proj.weight" for i in range(n)]
    folders = []
    base = {name: rng.standard_normal((rows, cols), dtype=np.float32) for name in names}
    for k in range(n_cands + 1):
        folder = os.path.join(root, "seed" if k == 0 else f"cand{k}")
        os.makedirs(folder)
        items = []
        for name in names:
            a = base[name] if k == 0 else base[name] + rng.standard_normal((rows, cols), dtype=np.float32) * 0.01
            items.append((name, "F32", (rows, cols), a))
        st_io.write_file(os.path.join(folder, "model.safetensors"), items)
        folders.append(folder)
    return folders[0], folders[1:], names


def in_process(seed_dir: str, cand_dirs, names, out_path: str) -> float:
    t = time.perf_counter()
    seed = st_io.ModelFiles(seed_dir)
    cands = [st_io.ModelFiles(c) for c in cand_dirs]
    items = []
    for name in names:
        s = seed.float32(name)
        taus = [c.float32(name) - s for c in cands]
        delta = 0.5 * np.sum(taus, axis=0)
        merged = s + delta
        items.append((name, "F32", merged.shape, merged))
    st_io.write_file(out_path, items)
    return time.perf_counter() - t


def warm(folders):
    for f in folders:
        with open(os.path.join(f, "model.safetensors"), "rb") as fh:
            while fh.read(1 << 24):
                pass


def overhead(seed: str, cands, scope, library: str, repeat: int, scratch: str, modes=("kernel",)):
    """Median total time per mode ("kernel": a one-shot sandbox, "forked": a worker forked by a
    warm zygote, "unisolated"); the modes alternate run by run so drift hits all alike."""
    times = {m: [] for m in modes}
    zygotes = zygote_client.Zygotes()
    try:
        for i in range(-1 if "forked" in modes else 0, repeat):  # -1: the zygote starts, untimed
            for m in modes:
                if i < 0 and m != "forked":
                    continue
                r = run_job({"seedModel": seed, "candidates": cands, "source": TRIVIAL, "mergeScope": scope,
                             "isolation": "kernel" if m == "forked" else m, "scratch": os.path.join(scratch, f"o{library}{m}{i}"),
                             "tensorLibrary": library, "device": "cpu"}, zygotes=zygotes if m == "forked" else None)
                if r["status"] != "ok" or r["isolation"] != ("kernel" if m == "forked" else m):
                    raise SystemExit(f"overhead run failed: {r}")
                if i >= 0:
                    times[m].append(r["timings"]["totalMs"])
    finally:
        zygotes.close()
    return {m: statistics.median(t) for m, t in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=256, help="MB of seed weights in scope (task vectors: 3x)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    # Models and outputs in memory when the machine has room: disk write-back stalls would
    # otherwise dominate both sides and vary from run to run.
    shm = "/dev/shm"
    use_shm = os.path.isdir(shm) and shutil.disk_usage(shm).free > 8 * args.mb * 1024 * 1024
    root = tempfile.mkdtemp(prefix="selfdev-bench-", dir=shm if use_shm else None)
    report = {}
    try:
        seed, cands, names = make_models(root, args.mb)
        warm([seed] + cands)
        tau_mb = len(cands) * len(names) * 1024 * 2048 * 4 / 1e6
        direct, runner, forked = [], [], []
        zygotes = zygote_client.Zygotes()

        def apply(i, z):
            r = run_job({"seedModel": seed, "candidates": cands, "algorithmFile": TA, "scratch": os.path.join(root, f"r{i}"),
                         "mergeScope": r"\.mlp\.", "limits": {"memoryMB": 8192}}, zygotes=z)
            if r["status"] != "ok":
                raise SystemExit(f"runner failed: {r}")
            return r

        try:
            apply("warm-up", zygotes)  # the zygote starts and computes the task vectors, untimed
            for i in range(args.repeat):  # alternating, so drift of this machine hits all alike
                direct.append(in_process(seed, cands, names, os.path.join(root, f"direct{i}.safetensors")))
                r = apply(i, None)
                runner.append(r["timings"]["totalMs"] / 1000)
                f = apply(f"f{i}", zygotes)
                forked.append(f["timings"]["totalMs"] / 1000)
        finally:
            zygotes.close()
        d, rn, fk = statistics.median(direct), statistics.median(runner), statistics.median(forked)
        report["throughput"] = {
            "taskVectorMB": round(tau_mb, 1),
            "inProcessMBs": round(tau_mb / d, 1),
            "runnerMBs": round(tau_mb / rn, 1),
            "ratio": round(d / rn, 3),
            "forkedMBs": round(tau_mb / fk, 1),
            "forkedRatio": round(d / fk, 3),
            "isolation": r["isolation"],
        }
        demo = os.path.join(REPO, "resources", "demo")
        cfg_path = os.path.join(demo, "demo.run.json")
        with open(cfg_path) as f:
            cfg = json.load(f)
        folders = [os.path.join(demo, cfg["seed"])] + [os.path.join(demo, c) for c in cfg["candidates"]]
        present = [f for f in folders if os.path.exists(os.path.join(f, "model.safetensors"))]
        if present and present[0] == folders[0] and len(present) >= 2:
            both = overhead(present[0], present[1:], cfg["mergeScope"], "numpy", max(5, args.repeat), root,
                            ("kernel", "forked", "unisolated"))
            ov = {"models": "demo", "candidates": len(present) - 1, "numpyMs": round(both["kernel"], 1),
                  "numpyForkedMs": round(both["forked"], 1),
                  "numpyUnisolatedMs": round(both["unisolated"], 1), "isolationMs": round(both["kernel"] - both["unisolated"], 1)}
            if not args.no_torch:
                torch_ms = overhead(present[0], present[1:], cfg["mergeScope"], "torch", args.repeat, root, ("kernel", "forked"))
                ov["torchMs"] = round(torch_ms["kernel"], 1)
                ov["torchForkedMs"] = round(torch_ms["forked"], 1)
            report["overhead"] = ov
        else:
            report["overhead"] = {"models": "demo models not built yet"}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(report))
    else:
        t = report["throughput"]
        print(f"task vectors: {t['taskVectorMB']} MB (3 candidates)")
        print(f"in-process numpy: {t['inProcessMBs']} MB/s; runner ({t['isolation']} isolation, checks and hashing included): "
              f"{t['runnerMBs']} MB/s one-shot, ratio {t['ratio']}; {t['forkedMBs']} MB/s forked by a warm zygote, "
              f"ratio {t['forkedRatio']} (target >= 0.5; medians of runs taken in turn)")
        o = report["overhead"]
        if "numpyMs" in o:
            print(f"fixed overhead per algorithm on the demo models ({o['candidates']} candidates), kernel isolation: "
                  f"numpy {o['numpyMs']} ms one-shot, {o['numpyForkedMs']} ms forked by a zygote ({o['numpyMs'] / o['numpyForkedMs']:.1f}x)"
                  + (f"; torch {o['torchMs']} ms one-shot, {o['torchForkedMs']} ms forked ({o['torchMs'] / o['torchForkedMs']:.1f}x)"
                     if "torchMs" in o else ""))
            print(f"kernel isolation costs {o['isolationMs']} ms per algorithm (numpy {o['numpyMs']} ms vs unisolated "
                  f"{o['numpyUnisolatedMs']} ms, interleaved; target <= 50 ms)")
        else:
            print(f"fixed overhead: {o['models']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
