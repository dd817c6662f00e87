"""Baseline merges used to measure the demo world's merge landscape.

Each baseline has the algorithm contract's form: ``merge(task_vectors, name)`` gets the task
vectors ``C_j - seed`` of one parameter (torch tensors, one per candidate) and returns the merged
delta; the merged model is ``seed + delta`` on the merge scope (MLP weights), the seed elsewhere.
"""
from __future__ import annotations

import hashlib
import re

import torch

MERGE_SCOPE = re.compile(r"^model\.layers\.\d+\.mlp\.(gate|up|down)_proj\.weight$")


def task_arithmetic(lam: float):
    def merge(task_vectors, name):
        return lam * torch.stack(task_vectors).sum(0)
    return merge


def average():
    def merge(task_vectors, name):
        return torch.stack(task_vectors).mean(0)
    return merge


def ties(density: float, lam: float = 1.0):
    """TIES: keep each task vector's top-`density` magnitudes, elect a sign per entry by the
    summed mass, average the kept entries that agree with it, scale by `lam`."""
    def merge(task_vectors, name):
        kept = []
        for t in task_vectors:
            k = max(1, int(round(density * t.numel())))
            thr = t.abs().flatten().kthvalue(t.numel() - k + 1).values
            kept.append(torch.where(t.abs() >= thr, t, torch.zeros_like(t)))
        tv = torch.stack(kept)
        sign = torch.sign(tv.sum(0))
        agree = (torch.sign(tv) == sign) & (tv != 0)
        num = (tv * agree).sum(0)
        cnt = agree.sum(0).clamp(min=1)
        return lam * num / cnt
    return merge


def dare(p: float, lam: float = 1.0, seed: int = 0):
    """DARE: drop each entry with probability `p`, rescale the rest by 1/(1-p), then add the
    task vectors with weight `lam`. The random mask depends on (seed, name, candidate index)."""
    def merge(task_vectors, name):
        out = torch.zeros_like(task_vectors[0])
        for j, t in enumerate(task_vectors):
            h = int(hashlib.sha256(f"{seed}:{name}:{j}".encode()).hexdigest()[:8], 16)
            g = torch.Generator().manual_seed(h)
            keep = (torch.rand(t.shape, generator=g) >= p).to(t.dtype)
            out += lam * t * keep / (1.0 - p)
        return out
    return merge


def apply_merge(seed_sd: dict, cand_sds: list, merge) -> dict:
    out = {}
    for name, w in seed_sd.items():
        if MERGE_SCOPE.match(name):
            taus = [c[name] - w for c in cand_sds]
            out[name] = w + merge(taus, name)
        else:
            out[name] = w
    return out
