#!/usr/bin/env python3
"""Build the demo's algorithm writer: a tiny Llama that writes merge algorithms.

    python3 resources/demo/train/build_writer.py [--stages corpus,tokenizer,train,measure]

Why a separate model: the demo seed (820k parameters, a 512-token vocabulary trained on math
text, 256 positions) has no room for code; a prompt with a worked example and a compact program
take 300-700 tokens of a code tokenizer. The writer is the factory's starting point in the demo;
real configs use `"generator": {"kind": "engine", "model": "seed"}`, the paper's setting.

Stages:
  corpus     prompts (the demo template, rendered by the loop's own code) and compact programs of
             the grammar factory, fenced -> train/work/writer_corpus.jsonl (needs node and
             `npx tsc -p test`, which this stage runs)
  tokenizer  byte-level BPE (1024) on the corpus                      -> train/work/writer_tokenizer.json
  train      next-token loss on the completions only                  -> models/writer/
  measure    200 samples at T = 1.0 checked and run as the runner runs them -> writer.json
"""
from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

import build_demo  # noqa: E402  (the math world's tokenizer settings, shared)

THREADS = 2
VOCAB_SIZE = 1024
SPECIALS = build_demo.SPECIALS
MAX_LEN = 768
MODEL = dict(hidden_size=128, intermediate_size=320, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=1024, rms_norm_eps=1e-5,
             rope_theta=10000.0, hidden_act="silu", tie_word_embeddings=False, vocab_size=VOCAB_SIZE,
             pad_token_id=0, bos_token_id=1, eos_token_id=2, attention_bias=False, mlp_bias=False,
             initializer_range=0.02)
TRAIN = dict(examples=6000, corpus_seed=3, steps=1400, batch=16, lr=2e-3, seed=11)
TOKENIZER_CONFIG = {
    **build_demo.TOKENIZER_CONFIG,
    "model_max_length": MODEL["max_position_embeddings"],
    # Without this, `transformers serve` waits forever on its first request (FACTS.md).
    "model_input_names": ["input_ids", "attention_mask"],
    # The plainest chat template: the user's text after <s>, so a prompt sent as a chat message
    # (an OpenAI-compatible server's chat API, or the engine with chat "auto") gives exactly the
    # tokens the writer was trained on.
    "chat_template": "{{ bos_token }}{% for message in messages %}{{ message['content'] }}{% endfor %}",
}
# Sampling is what the factory does with it (and `transformers serve` ignores the temperature
# of a request unless the model's generation config samples).
GENERATION_CONFIG = {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "do_sample": True,
                     "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 256}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def work() -> Path:
    w = HERE / "work"
    w.mkdir(parents=True, exist_ok=True)
    return w


def read_corpus():
    return [json.loads(l) for l in open(work() / "writer_corpus.jsonl")]


def stage_corpus():
    subprocess.run(["npx", "tsc", "-p", "test"], cwd=ROOT, check=True)
    subprocess.run(["node", str(HERE / "writer_corpus.mjs"), str(work() / "writer_corpus.jsonl"),
                    str(TRAIN["examples"]), str(TRAIN["corpus_seed"])], cwd=ROOT, check=True)


def stage_tokenizer():
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)
    tok.train_from_iterator([r["prompt"] + r["completion"] for r in read_corpus()], trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    assert [tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2]
    tok.save(str(work() / "writer_tokenizer.json"))
    log("tokenizer: vocab", tok.get_vocab_size())


def examples(tok):
    out = []
    for r in read_corpus():
        p = tok.encode(r["prompt"]).ids  # with <s>
        c = tok.encode(r["completion"], add_special_tokens=False).ids + [2]
        if len(p) + len(c) <= MAX_LEN:
            out.append((p + c, len(p)))
    return out


def stage_train(models_dir: Path):
    tok = Tokenizer.from_file(str(work() / "writer_tokenizer.json"))
    data = examples(tok)
    log(f"train: {len(data)} examples, mean length {sum(len(e) for e, _ in data) / len(data):.0f} tokens")
    torch.manual_seed(TRAIN["seed"])
    rng = random.Random(TRAIN["seed"])
    cfg = LlamaConfig(**MODEL)
    cfg.torch_dtype = torch.float32
    model = LlamaForCausalLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=TRAIN["lr"], betas=(0.9, 0.98), weight_decay=0.0)
    steps = TRAIN["steps"]
    warm = 50
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    model.train()
    t0, run = time.time(), None
    for s in range(steps):
        batch = [data[rng.randrange(len(data))] for _ in range(TRAIN["batch"])]
        L = max(len(e) for e, _ in batch)
        ids = torch.zeros((len(batch), L), dtype=torch.long)
        att = torch.zeros((len(batch), L), dtype=torch.long)
        labels = torch.full((len(batch), L), -100, dtype=torch.long)
        for i, (e, n_prompt) in enumerate(batch):
            ids[i, :len(e)] = torch.tensor(e)
            att[i, :len(e)] = 1
            labels[i, n_prompt:len(e)] = torch.tensor(e[n_prompt:])
        loss = model(input_ids=ids, attention_mask=att, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        run = loss.item() if run is None else 0.95 * run + 0.05 * loss.item()
        if (s + 1) % 100 == 0 or s + 1 == steps:
            log(f"writer step {s + 1}/{steps} loss {run:.4f} ({time.time() - t0:.0f}s)")
    model.eval()
    folder = models_dir / "writer"
    if folder.exists():
        shutil.rmtree(folder)
    model.config.name_or_path = "writer"
    model.save_pretrained(str(folder), safe_serialization=True)
    shutil.copy(work() / "writer_tokenizer.json", folder / "tokenizer.json")
    (folder / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=2) + "\n")
    (folder / "generation_config.json").write_text(json.dumps(GENERATION_CONFIG, indent=2) + "\n")
    log("saved", folder)


def extract(text: str):
    """The code of the first fenced block (the loop's extractor does more; this is enough here)."""
    if "```" not in text:
        return None
    body = text.split("```", 2)[1]
    return body[len("python"):].lstrip("\n") if body.startswith("python") else body


def writer_prompt() -> str:
    """The demo prompt without examples, as the loop renders it (src/core/factory/prompt.ts)."""
    template = (ROOT / "resources" / "demo" / "prompts" / "writer.md").read_text()
    worked = (ROOT / "resources" / "demo" / "prompts" / "worked_example.py").read_text()
    return template.replace("{{examples}}", "").replace("{{worked_example}}", worked.rstrip("\n") + "\n")


def judge(code):
    """None when `code` passes the runner's contract check and its merge returns a finite array
    of the right shape on random task vectors; else the failure's class or exception name."""
    sys.path.insert(0, str(ROOT / "resources" / "python"))
    from selfdev_runner.checks import ContractError, check_source  # noqa: E402

    if code is None:
        return "no_code"
    taus = [np.random.default_rng(k).normal(0, 0.02, (6, 4)).astype(np.float32) for k in range(3)]
    try:
        check_source(code)
        ns = {"__name__": "algorithm"}
        exec(compile(code, "<sample>", "exec"), ns)
        out = ns["merge"]([x.copy() for x in taus], "model.layers.0.mlp.up_proj.weight")
    except ContractError as e:
        return e.error_class
    except Exception as e:  # noqa: BLE001 - a measurement: count by type
        return type(e).__name__
    ok = isinstance(out, np.ndarray) and out.shape == taus[0].shape and bool(np.all(np.isfinite(out)))
    return None if ok else "bad_result"


def sample(folder: Path, n: int, temperature: float, seed: int):
    """n completions of the writer prompt, sampled by transformers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(folder), torch_dtype=torch.float32, local_files_only=True).eval()
    enc = tok(writer_prompt(), return_tensors="pt")
    torch.manual_seed(seed)
    texts = []
    with torch.no_grad():
        for k in range(0, n, 25):
            out = model.generate(**enc, do_sample=True, temperature=temperature, top_p=1.0, max_new_tokens=256,
                                 num_return_sequences=min(25, n - k), pad_token_id=0)
            texts += tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return texts


def stage_measure(models_dir: Path, n=200, temperature=1.0):
    texts = sample(models_dir / "writer", n, temperature, seed=0)
    corpus = {normalise(extract(r["completion"])) for r in read_corpus()}
    valid, codes, failures = 0, [], {}
    for t in texts:
        code = extract(t)
        failure = judge(code)
        if failure is None:
            valid += 1
            codes.append(normalise(code))
        else:
            failures[failure] = failures.get(failure, 0) + 1
    distinct = set(codes)
    result = {
        "samples": n, "temperature": temperature, "top_p": 1.0, "prompt": "resources/demo/prompts/writer.md, no examples",
        "valid": valid, "valid_share": valid / n, "distinct_valid": len(distinct), "distinct_share": len(set(map(normalise, filter(None, map(extract, texts))))) / n,
        "novel_valid": len(distinct - corpus), "failures": failures,
    }
    (HERE.parent / "writer.json").write_text(json.dumps(result, indent=1) + "\n")
    log("measure:", json.dumps(result))


def normalise(code):
    if code is None:
        return None
    lines = [l.rstrip() for l in code.replace("\r\n", "\n").replace("\t", "    ").split("\n")]
    return "\n".join(l for l in lines if l.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", default="corpus,tokenizer,train,measure")
    ap.add_argument("--models", default=str(HERE.parent / "models"))
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    models_dir = Path(args.models)
    for st in args.stages.split(","):
        ts = time.time()
        {"corpus": stage_corpus, "tokenizer": stage_tokenizer,
         "train": lambda: stage_train(models_dir), "measure": lambda: stage_measure(models_dir)}[st]()
        log(f"stage {st} took {time.time() - ts:.0f}s")


if __name__ == "__main__":
    main()
