"""The demo's writer model (the LLM factory's starting point in the demo) is a small, real
Hugging Face Llama that writes merge algorithms which pass the runner's contract check and run.

The judges are transformers (loading, chat template, sampling) and the runner's own check.
"""
import json
import sys

from transformers import AutoTokenizer

from conftest import DEMO

sys.path.insert(0, str(DEMO / "train"))
from build_writer import extract, judge, sample, writer_prompt  # noqa: E402  (the measurement's own code)

WRITER = DEMO / "models" / "writer"
PROMPT = writer_prompt()


def test_the_writer_and_the_world_are_small():
    assert (WRITER / "model.safetensors").stat().st_size <= 8 * 2**20
    world = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file() and "work" not in p.relative_to(DEMO).parts)
    assert world <= 50 * 2**20, f"the demo world is {world / 2**20:.1f} MB"


def test_its_chat_template_gives_the_tokens_it_was_trained_on():
    tok = AutoTokenizer.from_pretrained(str(WRITER), local_files_only=True)
    chat = tok.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=True, add_generation_prompt=True)
    assert chat == tok(PROMPT).input_ids
    assert chat[0] == tok.bos_token_id


def test_most_samples_at_temperature_1_pass_the_contract_check_and_run():
    codes = [extract(t) for t in sample(WRITER, 40, 1.0, seed=1)]
    ran = [c for c in codes if judge(c) is None]
    assert len(ran) >= 30, f"{len(ran)} of 40 samples ran"
    assert len(set(ran)) >= 25, f"only {len(set(ran))} distinct programs"


def test_the_recorded_measurement_meets_the_demo_requirement():
    m = json.loads((DEMO / "writer.json").read_text())
    assert m["samples"] == 200 and m["temperature"] == 1.0
    assert m["valid_share"] >= 0.5
