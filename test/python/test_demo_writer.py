"""The demo's writer model (the LLM factory's starting point in the demo) is a small, real
Hugging Face Llama that writes merge algorithms which pass the runner's contract check and run.

The judges are transformers (loading, chat template, sampling) and the runner's own check.
"""
import json
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from conftest import DEMO, REPO

sys.path.insert(0, str(REPO / "resources" / "python"))
from selfdev_runner.checks import ContractError, check_source  # noqa: E402

WRITER = DEMO / "models" / "writer"
PROMPT = ((DEMO / "prompts" / "writer.md").read_text()
          .replace("{{examples}}", "")
          .replace("{{worked_example}}", (DEMO / "prompts" / "worked_example.py").read_text()))


def test_the_writer_and_the_world_are_small():
    assert (WRITER / "model.safetensors").stat().st_size <= 8 * 2**20
    world = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file() and "work" not in p.relative_to(DEMO).parts)
    assert world <= 50 * 2**20, f"the demo world is {world / 2**20:.1f} MB"


def test_its_chat_template_gives_the_tokens_it_was_trained_on():
    tok = AutoTokenizer.from_pretrained(str(WRITER), local_files_only=True)
    chat = tok.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=True, add_generation_prompt=True)
    assert chat == tok(PROMPT).input_ids
    assert chat[0] == tok.bos_token_id


def _extract(text):
    if "```" not in text:
        return None
    body = text.split("```", 2)[1]
    return body[len("python"):].lstrip("\n") if body.startswith("python") else body


def test_most_samples_at_temperature_1_pass_the_contract_check_and_run():
    tok = AutoTokenizer.from_pretrained(str(WRITER), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(WRITER), local_files_only=True).eval()
    enc = tok(PROMPT, return_tensors="pt")
    torch.manual_seed(1)
    with torch.no_grad():
        out = model.generate(**enc, do_sample=True, temperature=1.0, top_p=1.0, max_new_tokens=256,
                             num_return_sequences=40, pad_token_id=0)
    texts = tok.batch_decode(out[:, enc.input_ids.shape[1]:], skip_special_tokens=True)
    rng = np.random.default_rng(0)
    taus = [rng.normal(0, 0.02, (6, 4)).astype(np.float32) for _ in range(3)]
    ran, codes = 0, set()
    for t in texts:
        code = _extract(t)
        if code is None:
            continue
        try:
            check_source(code)
            ns = {"__name__": "algorithm"}
            exec(compile(code, "<sample>", "exec"), ns)
            merged = ns["merge"]([x.copy() for x in taus], "model.layers.1.mlp.up_proj.weight")
        except (ContractError, Exception):  # noqa: BLE001 - counting what runs
            continue
        if isinstance(merged, np.ndarray) and merged.shape == taus[0].shape and np.all(np.isfinite(merged)):
            ran += 1
            codes.add(code)
    assert ran >= 30, f"{ran} of 40 samples ran"
    assert len(codes) >= 25, f"only {len(codes)} distinct programs"


def test_the_recorded_measurement_meets_the_demo_requirement():
    m = json.loads((DEMO / "writer.json").read_text())
    assert m["samples"] == 200 and m["temperature"] == 1.0
    assert m["valid_share"] >= 0.5
