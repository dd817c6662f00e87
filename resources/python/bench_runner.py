"""Benchmark of the sandboxed runner, measured side by side in one run.

    python3 resources/python/bench_runner.py [--mb 256] [--repeat 3] [--json]

1. Merge throughput: MB of task vectors per second of the runner applying task arithmetic
   (process start, sandbox, validation and the written file included) against the same
   arithmetic done in this process with numpy on the same memory-mapped tensors
   (tau_j = C_j - seed, delta = 0.5 * sum_j tau_j, merged = seed + delta). Target ratio >= 0.5.
2. Fixed overhead per algorithm on the demo models (when built): the runner's total time for a
   trivial algorithm, with numpy and with torch, under kernel isolation (bubblewrap, seccomp)
   and, interleaved with it, unisolated: the difference is what isolation costs per algorithm
   (target <= 50 ms).
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

from selfdev_runner import st_io  # noqa: E402
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
    """Median total time per mode; the modes alternate run by run so drift hits both alike."""
    times = {m: [] for m in modes}
    for i in range(repeat):
        for m in modes:
            r = run_job({"seedModel": seed, "candidates": cands, "source": TRIVIAL, "mergeScope": scope, "isolation": m,
                         "scratch": os.path.join(scratch, f"o{library}{m}{i}"), "tensorLibrary": library, "device": "cpu"})
            if r["status"] != "ok" or r["isolation"] != m:
                raise SystemExit(f"overhead run failed: {r}")
            times[m].append(r["timings"]["totalMs"])
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
        direct, runner = [], []
        for i in range(args.repeat):  # alternating, so drift of this machine hits both alike
            direct.append(in_process(seed, cands, names, os.path.join(root, f"direct{i}.safetensors")))
            r = run_job({"seedModel": seed, "candidates": cands, "algorithmFile": TA, "scratch": os.path.join(root, f"r{i}"),
                         "mergeScope": r"\.mlp\.", "limits": {"memoryMB": 8192}})
            if r["status"] != "ok":
                raise SystemExit(f"runner failed: {r}")
            runner.append(r["timings"]["totalMs"] / 1000)
        d, rn = statistics.median(direct), statistics.median(runner)
        report["throughput"] = {
            "taskVectorMB": round(tau_mb, 1),
            "inProcessMBs": round(tau_mb / d, 1),
            "runnerMBs": round(tau_mb / rn, 1),
            "ratio": round(d / rn, 3),
            "isolation": r["isolation"],
        }
        demo = os.path.join(REPO, "resources", "demo")
        cfg_path = os.path.join(demo, "demo.run.json")
        with open(cfg_path) as f:
            cfg = json.load(f)
        folders = [os.path.join(demo, cfg["seed"])] + [os.path.join(demo, c) for c in cfg["candidates"]]
        present = [f for f in folders if os.path.exists(os.path.join(f, "model.safetensors"))]
        if present and present[0] == folders[0] and len(present) >= 2:
            both = overhead(present[0], present[1:], cfg["mergeScope"], "numpy", max(5, args.repeat), root, ("kernel", "unisolated"))
            ov = {"models": "demo", "candidates": len(present) - 1, "numpyMs": round(both["kernel"], 1),
                  "numpyUnisolatedMs": round(both["unisolated"], 1), "isolationMs": round(both["kernel"] - both["unisolated"], 1)}
            if not args.no_torch:
                ov["torchMs"] = round(overhead(present[0], present[1:], cfg["mergeScope"], "torch", args.repeat, root)["kernel"], 1)
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
              f"{t['runnerMBs']} MB/s; ratio {t['ratio']} (target >= 0.5; medians of runs taken in turn)")
        o = report["overhead"]
        if "numpyMs" in o:
            print(f"fixed overhead per algorithm on the demo models ({o['candidates']} candidates): numpy {o['numpyMs']} ms"
                  + (f", torch {o['torchMs']} ms" if "torchMs" in o else "") + " (kernel isolation)")
            print(f"kernel isolation costs {o['isolationMs']} ms per algorithm (numpy {o['numpyMs']} ms vs unisolated "
                  f"{o['numpyUnisolatedMs']} ms, interleaved; target <= 50 ms)")
        else:
            print(f"fixed overhead: {o['models']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
