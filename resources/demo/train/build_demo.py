#!/usr/bin/env python3
"""Build the demo world: tokenizer, benchmarks, base, seed, merge candidates, measurements.

    python3 resources/demo/train/build_demo.py [--out resources/demo] [--stages all]

Stages (run in this order; each reads what the earlier ones wrote, so any can be re-run alone):
  tokenizer   train the byte-level BPE tokenizer (HF tokenizers) -> train/work/tokenizer.json
  data        write the benchmarks and few-shot exemplars         -> data/*.jsonl
  base        pre-train the base model on problem statements       -> train/work/base/
  seed        fine-tune the base into the seed (format + addition) -> models/seed/
  candidates  fine-tune the seed's MLPs into the candidates         -> models/cand-*/, models/transfer-*/
  measure     evaluate every model and the baseline merges          -> measured.json, README table

Everything is seeded; torch runs with deterministic algorithms on a fixed number of threads.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

import evaluate as ev  # noqa: E402
import merges  # noqa: E402
import world  # noqa: E402

THREADS = 2
VOCAB_SIZE = 512
SPECIALS = ["<pad>", "<s>", "</s>"]  # ids 0, 1, 2
MODEL = dict(hidden_size=128, intermediate_size=320, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5,
             rope_theta=10000.0, hidden_act="silu", tie_word_embeddings=False, vocab_size=VOCAB_SIZE,
             pad_token_id=0, bos_token_id=1, eos_token_id=2, attention_bias=False, mlp_bias=False,
             initializer_range=0.02)

SPLITS = {"gsm_dev": 100, "gsm_test": 500, "math_dev": 10, "math_test": 50}  # math: per type
FEWSHOT = {"gsm": 8, "math": 2}  # math: per type

# Skill sets of the benchmark's GSM-style problems: weights of the exact non-addition skill set.
GSM_MIX = [((), 0.25), (("sub",), 0.1), (("mul",), 0.1), (("div",), 0.1), (("sub", "mul"), 0.1),
           (("sub", "div"), 0.1), (("mul", "div"), 0.1), (("sub", "mul", "div"), 0.15)]

SKILLS = world.SKILLS

# The fine-tunes. `skills`: the non-addition skills its data may use; `p_skill`: share of
# examples that use at least one of them (the rest are addition-only, against forgetting);
# `p_other` (default 0): share of examples of the other operations restricted to their easy
# facts, which keeps a candidate's task vector out of the others' way (tried for issue 14: it
# lifts the best merge to the best candidate's level, but makes data generation 4x slower).
RUNS = {
    "seed": dict(init="base", skills=SKILLS, easy=True, steps=1200, lr=2e-3, mlp_only=False,
                 p_gsm=0.5, seed=11, p_skill=None),
    # `neurons`: the MLP's intermediate units (of 320) the candidate may change. The main
    # candidates' ranges overlap by 32 units pairwise, so that their task vectors mostly lie
    # apart; they still interfere through the layers (task arithmetic peaks at lambda 0.8).
    "cand-sub": dict(init="seed", skills=("sub",), p_skill=0.75, steps=500, lr=1e-3,
                     mlp_only=True, p_gsm=0.5, seed=21, neurons=(0, 128)),
    "cand-mul": dict(init="seed", skills=("mul",), p_skill=0.75, steps=500, lr=1e-3,
                     mlp_only=True, p_gsm=0.5, seed=22, neurons=(96, 224)),
    "cand-div": dict(init="seed", skills=("div",), p_skill=0.75, steps=500, lr=1e-3,
                     mlp_only=True, p_gsm=0.5, seed=23, neurons=(192, 320)),
    "transfer-muldiv": dict(init="seed", skills=("mul", "div"), p_skill=0.8, steps=400, lr=7e-4,
                            mlp_only=True, p_gsm=0.6, seed=31, neurons=(0, 176)),
    "transfer-sub": dict(init="seed", skills=("sub",), p_skill=0.7, steps=300, lr=1e-3,
                         mlp_only=True, p_gsm=0.7, seed=32, neurons=(144, 320)),
}
BASE = dict(steps=800, lr=2e-3, seed=5)
BATCH = 64
MAIN_SET = ["cand-sub", "cand-mul", "cand-div"]
TRANSFER_SET = ["transfer-muldiv", "transfer-sub"]


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def setup_torch():
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)


# ---------------------------------------------------------------------------------------------
# tokenizer

def corpus(n: int, seed: int):
    rng = random.Random(seed)
    for i in range(n):
        if i % 2:
            p = world.gsm_problem(rng, lambda s: True)
        else:
            p = world.math_problem(rng, world.MATH_TYPES[(i // 2) % 6], lambda s: True)
        r = p.record()
        yield ev.EVAL["exemplar"].format(question=ev.item_question(r), solution=ev.item_solution(r))


def stage_tokenizer(paths):
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)
    tok.train_from_iterator(list(corpus(20000, seed=1)), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    assert [tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2]
    paths["work"].mkdir(parents=True, exist_ok=True)
    tok.save(str(paths["work"] / "tokenizer.json"))
    log("tokenizer: vocab", tok.get_vocab_size())


def load_tokenizer(paths) -> Tokenizer:
    return Tokenizer.from_file(str(paths["work"] / "tokenizer.json"))


TOKENIZER_CONFIG = {
    "tokenizer_class": "PreTrainedTokenizerFast",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "pad_token": "<pad>",
    "unk_token": None,
    "add_bos_token": True,
    "add_eos_token": False,
    "clean_up_tokenization_spaces": False,
    "model_max_length": MODEL["max_position_embeddings"],
    "padding_side": "left",
}


# ---------------------------------------------------------------------------------------------
# data

def write_jsonl(path: Path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def read_jsonl(path: Path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def stage_data(paths):
    rng = random.Random(2024)
    seen = set()

    def fresh(make):
        while True:
            p = make()
            if p.text not in seen:
                seen.add(p.text)
                world.verify(p)
                return p

    def gsm_item():
        combos, weights = zip(*GSM_MIX)
        want = frozenset(rng.choices(combos, weights)[0])
        return fresh(lambda: world.gsm_problem(rng, lambda s: s == want))

    out = {}
    out["fewshot_gsm"] = [gsm_item().record() for _ in range(FEWSHOT["gsm"])]
    out["fewshot_math"] = [fresh(lambda: world.math_problem(rng, t, lambda s: True)).record()
                           for t in world.MATH_TYPES for _ in range(FEWSHOT["math"])]
    for split in ("dev", "test"):
        out[f"gsm_{split}"] = [gsm_item().record() for _ in range(SPLITS[f"gsm_{split}"])]
        out[f"math_{split}"] = [fresh(lambda: world.math_problem(rng, t, lambda s: True)).record()
                                for t in world.MATH_TYPES for _ in range(SPLITS[f"math_{split}"])]
    for name, rows in out.items():
        write_jsonl(paths["data"] / f"{name}.jsonl", rows)
        log("data:", name, len(rows))


def eval_questions(paths) -> set:
    qs = set()
    for f in paths["data"].glob("*.jsonl"):
        qs.update(ev.item_question(r) for r in read_jsonl(f))
    return qs


# ---------------------------------------------------------------------------------------------
# training

class Stream:
    """An endless, seeded stream of training examples that avoids the benchmark questions."""

    def __init__(self, tok, excluded, seed, skills=(), p_skill=0.0, p_gsm=0.5, lm_only=False,
                 easy=False, p_other=0.0):
        self.tok, self.excluded, self.rng = tok, excluded, random.Random(seed)
        self.check = world.easy_facts_only if easy else None
        self.skills, self.p_skill, self.p_gsm, self.lm_only = frozenset(skills), p_skill, p_gsm, lm_only
        self.p_other = p_other
        self.impossible = set()

    def accept(self):
        """(kind, accept(skills), check(problem)) of the next example."""
        if self.lm_only or self.check is not None:
            return "any", lambda s: True, self.check
        r = self.rng.random()
        if r < self.p_skill:
            return "skill", lambda s: bool(s) and s <= self.skills, None
        if r < self.p_skill + self.p_other:
            # Other operations, but only their easy facts (which the seed knows): the candidate
            # learns to leave them alone, so its task vector stays out of the others' way.
            return "other", lambda s: bool(s - self.skills), lambda p: world.easy_facts_only(p, self.skills)
        return "add", lambda s: not s, None

    def example(self):
        rng = self.rng
        while True:
            key, acc, check = self.accept()
            if rng.random() < self.p_gsm:
                p = world.gsm_problem(rng, acc, check)
            else:
                # MATH types that have no form for this constraint (e.g. Number Theory has no
                # subtraction-only form) are dropped the first time they fail.
                types = [t for t in world.MATH_TYPES if (t, key) not in self.impossible]
                t = rng.choice(types)
                p = world.math_problem(rng, t, acc, tries=5000, check=check)
                if p is None:
                    self.impossible.add((t, key))
                    continue
            if p.text not in self.excluded:
                break
        r = p.record()
        if self.lm_only:
            ids = self.tok.encode(ev.item_question(r)).ids + [2]
            return ids, [1] * len(ids)
        prompt = self.tok.encode(ev.build_prompt(r)).ids
        comp = self.tok.encode(" " + ev.item_solution(r), add_special_tokens=False).ids + [2]
        return prompt + comp, [0] * len(prompt) + [1] * len(comp)

    def batch(self, n):
        exs = [self.example() for _ in range(n)]
        L = max(len(e[0]) for e in exs)
        ids = torch.zeros((n, L), dtype=torch.long)
        labels = torch.full((n, L), -100, dtype=torch.long)
        att = torch.zeros((n, L), dtype=torch.long)
        for i, (e, m) in enumerate(exs):
            ids[i, :len(e)] = torch.tensor(e)
            att[i, :len(e)] = 1
            lab = torch.tensor([t if k else -100 for t, k in zip(e, m)])
            labels[i, :len(e)] = lab
        return ids, att, labels


def new_model(seed) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    cfg = LlamaConfig(**MODEL)
    cfg.torch_dtype = torch.float32
    return LlamaForCausalLM(cfg)


def load_model(folder: Path) -> LlamaForCausalLM:
    m = LlamaForCausalLM.from_pretrained(str(folder), torch_dtype=torch.float32)
    m.eval()
    return m


def neuron_mask(name, shape, neurons):
    """1 on the entries of MLP weight `name` that belong to intermediate units [start, stop)."""
    start, stop = neurons
    mask = torch.zeros(shape)
    if "down_proj" in name:
        mask[:, start:stop] = 1.0  # [hidden, intermediate]
    else:
        mask[start:stop, :] = 1.0  # gate_proj, up_proj: [intermediate, hidden]
    return mask


def train(model, stream, steps, lr, seed, mlp_only=False, label="", neurons=None):
    torch.manual_seed(seed)
    params = []
    for n, p in model.named_parameters():
        train_it = (not mlp_only) or merges.MERGE_SCOPE.match(n) is not None
        p.requires_grad_(train_it)
        if train_it:
            params.append(p)
            if neurons is not None:
                # Zero gradients outside the units: with AdamW and no weight decay those entries
                # never move, so the task vector lives on the candidate's units only.
                mask = neuron_mask(n, p.shape, neurons)
                p.register_hook(lambda g, m=mask: g * m)
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.98), weight_decay=0.0)
    warm = min(50, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    model.train()
    t0 = time.time()
    run = None
    for s in range(steps):
        ids, att, labels = stream.batch(BATCH)
        loss = model(input_ids=ids, attention_mask=att, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        run = loss.item() if run is None else 0.95 * run + 0.05 * loss.item()
        if (s + 1) % 100 == 0 or s + 1 == steps:
            log(f"{label} step {s + 1}/{steps} loss {run:.4f} ({time.time() - t0:.0f}s)")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def save_model(model, folder: Path, paths):
    if folder.exists():
        shutil.rmtree(folder)
    model.config.torch_dtype = torch.float32
    model.config.name_or_path = folder.name  # no local paths in config.json
    model.save_pretrained(str(folder), safe_serialization=True)
    shutil.copy(paths["work"] / "tokenizer.json", folder / "tokenizer.json")
    with open(folder / "tokenizer_config.json", "w") as f:
        json.dump(TOKENIZER_CONFIG, f, indent=2)
        f.write("\n")


def stage_base(paths):
    tok = load_tokenizer(paths)
    stream = Stream(tok, eval_questions(paths), BASE["seed"], lm_only=True, p_gsm=0.5)
    model = new_model(BASE["seed"])
    log("base: parameters", sum(p.numel() for p in model.parameters()))
    train(model, stream, BASE["steps"], BASE["lr"], BASE["seed"], label="base")
    save_model(model, paths["work"] / "base", paths)


def stage_finetune(paths, names):
    tok = load_tokenizer(paths)
    excluded = eval_questions(paths)
    for name in names:
        r = RUNS[name]
        init = paths["work"] / "base" if r["init"] == "base" else paths["models"] / r["init"]
        model = load_model(init)
        stream = Stream(tok, excluded, r["seed"], r["skills"], r["p_skill"], r["p_gsm"],
                        easy=r.get("easy", False), p_other=r.get("p_other", 0.0))
        train(model, stream, r["steps"], r["lr"], r["seed"], r["mlp_only"], label=name,
              neurons=r.get("neurons"))
        save_model(model, paths["models"] / name, paths)
        acc = {}
        for split in ("gsm_dev", "math_dev"):
            acc[split], _ = ev.score(model, tok, read_jsonl(paths["data"] / f"{split}.jsonl"))
        log(f"{name}: dev", json.dumps(acc))


# ---------------------------------------------------------------------------------------------
# measurements

def merged_model(paths, seed_sd, cands, merge):
    sd = merges.apply_merge(seed_sd, cands, merge)
    m = new_model(0)
    m.load_state_dict(sd)
    m.eval()
    return m


def grid():
    g = [("average", {}, merges.average())]
    for lam in (0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        g.append(("task_arithmetic", {"lambda": lam}, merges.task_arithmetic(lam)))
    for d in (0.2, 0.4, 0.6, 0.8):
        for lam in (0.5, 1.0):
            g.append(("ties", {"density": d, "lambda": lam}, merges.ties(d, lam)))
    for p in (0.3, 0.5, 0.7, 0.9):
        for lam in (0.5, 1.0):
            g.append(("dare", {"p": p, "lambda": lam, "seed": 0}, merges.dare(p, lam, 0)))
    return g


def stage_measure(paths, with_test=True):
    tok = load_tokenizer(paths)
    data = {s: read_jsonl(paths["data"] / f"{s}.jsonl") for s in SPLITS}
    splits = list(SPLITS) if with_test else ["gsm_dev", "math_dev"]
    res = {"eval": dict(ev.EVAL, bos="<s> (id 1) first, added by the tokenizer's post-processor"),
           "models": {}, "dev_items": {}, "baselines": {}}
    t0 = time.time()
    for name in ["seed"] + MAIN_SET + TRANSFER_SET:
        m = load_model(paths["models"] / name)
        res["models"][name] = {}
        res["dev_items"][name] = {}
        for s in splits:
            acc, rows = ev.score(m, tok, data[s])
            res["models"][name][s] = round(100 * acc, 1)
            if s.endswith("dev"):
                res["dev_items"][name][s] = [r["completion"] for r in rows]
        log("measure:", name, res["models"][name])
    seed_sd = load_file(str(paths["models"] / "seed" / "model.safetensors"))
    for setname, names in (("main", MAIN_SET), ("transfer", TRANSFER_SET)):
        cands = [load_file(str(paths["models"] / n / "model.safetensors")) for n in names]
        rows = []
        for method, params, merge in grid():
            m = merged_model(paths, seed_sd, cands, merge)
            row = {"method": method, "params": params}
            for s in ("gsm_dev", "math_dev"):
                row[s] = round(100 * ev.score(m, tok, data[s])[0], 1)
            rows.append(row)
            log("measure:", setname, method, params, row["gsm_dev"], row["math_dev"])
        best = {}
        if with_test:
            lookup = {(r["method"], json.dumps(r["params"], sort_keys=True)): (mth, p, mg)
                      for r, (mth, p, mg) in zip(rows, grid())}
            for method in ("task_arithmetic", "ties", "dare", "average"):
                for key in ("gsm_dev", "math_dev"):
                    cand_rows = [r for r in rows if r["method"] == method]
                    b = max(cand_rows, key=lambda r: r[key])
                    mth, p, mg = lookup[(method, json.dumps(b["params"], sort_keys=True))]
                    m = merged_model(paths, seed_sd, cands, mg)
                    bench = key.split("_")[0]
                    test = round(100 * ev.score(m, tok, data[f"{bench}_test"])[0], 1)
                    best.setdefault(method, {})[bench] = {"params": b["params"], "dev": b[key],
                                                          "test": test}
        res["baselines"][setname] = {"candidates": names, "grid": rows, "best": best}
    res["measure_seconds"] = round(time.time() - t0)
    with open(paths["out"] / "measured.json", "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    write_table(paths, res)


def write_table(paths, res):
    lines = ["| model | GSM dev | GSM test | MATH dev | MATH test |", "|---|---|---|---|---|"]
    for name, r in res["models"].items():
        lines.append(f"| {name} | {r.get('gsm_dev')} | {r.get('gsm_test', '-')} | "
                     f"{r.get('math_dev')} | {r.get('math_test', '-')} |")
    for setname, b in res["baselines"].items():
        for method, v in b.get("best", {}).items():
            g, mth = v["gsm"], v["math"]
            lines.append(f"| {setname}: {method} | {g['dev']} ({fmt(g['params'])}) | {g['test']} | "
                         f"{mth['dev']} ({fmt(mth['params'])}) | {mth['test']} |")
    grid_lines = ["| set | method | params | GSM dev | MATH dev |", "|---|---|---|---|---|"]
    for setname, b in res["baselines"].items():
        for r in b["grid"]:
            grid_lines.append(f"| {setname} | {r['method']} | {fmt(r['params'])} | {r['gsm_dev']} | "
                              f"{r['math_dev']} |")
    text = "\n".join(lines) + "\n\nFull grid (dev):\n\n" + "\n".join(grid_lines) + "\n"
    (paths["work"]).mkdir(parents=True, exist_ok=True)
    (paths["work"] / "table.md").write_text(text)
    readme = paths["out"] / "README.md"
    if readme.exists():
        body = readme.read_text()
        a, b = "<!-- measured:start -->", "<!-- measured:end -->"
        if a in body and b in body:
            pre, rest = body.split(a, 1)
            _, post = rest.split(b, 1)
            readme.write_text(pre + a + "\n" + text + b + post)
    log("table written")


def fmt(params):
    return ", ".join(f"{k}={v}" for k, v in params.items() if k != "seed") or "-"


# ---------------------------------------------------------------------------------------------

STAGES = ["tokenizer", "data", "base", "seed", "candidates", "measure"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(HERE.parent))
    ap.add_argument("--stages", default="all", help="comma-separated subset of " + ",".join(STAGES))
    ap.add_argument("--only", default="", help="candidates stage: comma-separated model names")
    ap.add_argument("--dev-only", action="store_true", help="measure: skip the test splits")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    paths = {"out": out, "data": out / "data", "models": out / "models", "work": HERE / "work"}
    setup_torch()
    stages = STAGES if args.stages == "all" else args.stages.split(",")
    t0 = time.time()
    for st in stages:
        ts = time.time()
        if st == "tokenizer":
            stage_tokenizer(paths)
        elif st == "data":
            stage_data(paths)
        elif st == "base":
            stage_base(paths)
        elif st == "seed":
            stage_finetune(paths, ["seed"])
        elif st == "candidates":
            names = args.only.split(",") if args.only else MAIN_SET + TRANSFER_SET
            stage_finetune(paths, names)
        elif st == "measure":
            stage_measure(paths, with_test=not args.dev_only)
        else:
            raise SystemExit(f"unknown stage {st}")
        log(f"stage {st} took {time.time() - ts:.0f}s")
    log(f"total {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
