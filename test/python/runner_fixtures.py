"""Small safetensors models for the runner's tests, written with numpy only."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[2]
PY_DIR = REPO / "resources" / "python"
ALGORITHMS = REPO / "resources" / "algorithms"
if str(PY_DIR) not in sys.path:
    sys.path.insert(0, str(PY_DIR))

from selfdev_runner import st_io  # noqa: E402

MLP = ("gate_proj", "up_proj", "down_proj")


def tiny_names(layers: int = 2) -> Dict[str, tuple]:
    shapes: Dict[str, tuple] = {"model.embed_tokens.weight": (16, 8)}
    for i in range(layers):
        shapes[f"model.layers.{i}.self_attn.q_proj.weight"] = (8, 8)
        shapes[f"model.layers.{i}.mlp.gate_proj.weight"] = (12, 8)
        shapes[f"model.layers.{i}.mlp.up_proj.weight"] = (12, 8)
        shapes[f"model.layers.{i}.mlp.down_proj.weight"] = (8, 12)
        shapes[f"model.layers.{i}.input_layernorm.weight"] = (8,)
    shapes["lm_head.weight"] = (16, 8)
    return shapes


def write_model(folder: Path, tensors: Dict[str, np.ndarray], dtype: str = "F32") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    items = [(n, dtype, tuple(a.shape), st_io.from_float32(np.asarray(a, np.float32), dtype)) for n, a in tensors.items()]
    st_io.write_file(str(folder / "model.safetensors"), items, {"format": "pt"})
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return folder


def make_world(root: Path, n_candidates: int = 3, dtype: str = "F32", layers: int = 2, seed: int = 0,
               shapes: Dict[str, tuple] | None = None) -> Dict[str, object]:
    """A seed and candidates (seed + small random task vectors), all tensors float32 values
    that are exact in `dtype`."""
    rng = np.random.default_rng(seed)
    shapes = shapes or tiny_names(layers)

    def exact(a):
        return st_io.to_float32(st_io.from_float32(a.astype(np.float32), dtype), dtype)

    base = {n: exact(rng.normal(0, 1, s)) for n, s in shapes.items()}
    write_model(root / "seed", base, dtype)
    cands: List[Path] = []
    for j in range(n_candidates):
        c = {n: exact(a + rng.normal(0, 0.1, a.shape)) for n, a in base.items()}
        cands.append(write_model(root / f"cand{j}", c, dtype))
    return {"seed": root / "seed", "candidates": cands, "scratch": root / "scratch", "base": base}


def job(world: Dict[str, object], source: str, **extra) -> dict:
    j = {
        "seedModel": str(world["seed"]),
        "candidates": [str(c) for c in world["candidates"]],
        "scratch": str(world["scratch"]),
        "source": source,
        "limits": {"wallSeconds": 20, "cpuSeconds": 20, "memoryMB": 1024},
    }
    limits = extra.pop("limits", None)
    if limits:
        j["limits"].update(limits)
    j.update(extra)
    return j


def read_output(path: str) -> Dict[str, np.ndarray]:
    tensors, _, _ = st_io.read_header(path)
    out = {}
    data = Path(path).read_bytes()
    for name, info in tensors.items():
        arr = np.frombuffer(data, dtype=st_io.DTYPES[info.dtype], count=info.numel, offset=info.start).reshape(info.shape)
        out[name] = st_io.to_float32(arr, info.dtype)
    return out


def load_model(folder: Path) -> Dict[str, np.ndarray]:
    m = st_io.ModelFiles(str(folder))
    return {n: np.array(m.float32(n)) for n in m.tensors}


def file_snapshot(paths: Sequence[Path]) -> Dict[str, tuple]:
    """(size, mtime_ns) of every file under the given folders, for 'nothing changed' checks."""
    snap = {}
    for root in paths:
        for dirpath, _, files in os.walk(root):
            for f in files:
                p = os.path.join(dirpath, f)
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                snap[p] = (st.st_size, st.st_mtime_ns)
    return snap
