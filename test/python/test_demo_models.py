"""The demo world's checkpoints are real Hugging Face Llama checkpoints.

The judges are the real libraries: ``transformers`` (AutoModelForCausalLM, AutoTokenizer,
offline on the local folders), ``tokenizers`` and ``safetensors``.
"""
import json
import re

import pytest
import torch
from safetensors import safe_open
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

from conftest import DEMO

MODELS = sorted(p for p in (DEMO / "models").iterdir() if p.is_dir())
#: The models of the math world (the writer, the LLM factory's model, is tested in test_demo_writer.py).
MATH_MODELS = [p for p in MODELS if p.name != "writer"]
MLP = re.compile(r"^model\.layers\.\d+\.mlp\.(gate|up|down)_proj\.weight$")
SAMPLE = "Question: Ava has 3 bags with 7 apples in each bag. How many apples does Ava have now?\nAnswer: 3*7=21.\n#### 21"


def config(folder):
    return json.loads((folder / "config.json").read_text())


def tensors(folder):
    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def test_the_world_has_a_seed_three_candidates_and_two_transfer_candidates():
    names = {p.name for p in MODELS}
    assert "seed" in names
    assert len([n for n in names if n.startswith("cand-")]) >= 3
    assert len([n for n in names if n.startswith("transfer-")]) >= 2


@pytest.mark.parametrize("folder", MODELS, ids=lambda p: p.name)
def test_config_is_a_llama_config_fit_for_the_engine(folder):
    c = config(folder)
    assert c["architectures"] == ["LlamaForCausalLM"] and c["model_type"] == "llama"
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "rms_norm_eps", "rope_theta", "vocab_size",
                "max_position_embeddings", "tie_word_embeddings", "bos_token_id", "eos_token_id",
                "torch_dtype"):
        assert key in c, key
    assert c["torch_dtype"] == "float32"
    assert c["num_key_value_heads"] < c["num_attention_heads"], "grouped-query attention"
    head_dim = c["hidden_size"] // c["num_attention_heads"]
    assert head_dim % 16 == 0, "onnxruntime's GroupQueryAttention on CPU needs head size % 16 == 0"
    assert c["tie_word_embeddings"] is False


@pytest.mark.parametrize("folder", MODELS, ids=lambda p: p.name)
def test_tensor_names_and_shapes_agree_with_the_config(folder):
    c = config(folder)
    h, inter, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = h // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * hd
    want = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,), "lm_head.weight": (v, h)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        want.update({
            p + "self_attn.q_proj.weight": (h, h), p + "self_attn.k_proj.weight": (kv, h),
            p + "self_attn.v_proj.weight": (kv, h), p + "self_attn.o_proj.weight": (h, h),
            p + "mlp.gate_proj.weight": (inter, h), p + "mlp.up_proj.weight": (inter, h),
            p + "mlp.down_proj.weight": (h, inter),
            p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,)})
    got = tensors(folder)
    assert {k: tuple(t.shape) for k, t in got.items()} == want
    for k, t in got.items():
        assert t.dtype == torch.float32, k
        assert torch.isfinite(t).all(), k


@pytest.mark.parametrize("folder", MODELS, ids=lambda p: p.name)
def test_transformers_loads_the_checkpoint_offline_and_computes(folder):
    model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True)
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    assert type(model).__name__ == "LlamaForCausalLM"
    ids = tok(SAMPLE, return_tensors="pt").input_ids
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, ids.shape[1], config(folder)["vocab_size"])
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("folder", MATH_MODELS, ids=lambda p: p.name)
def test_tokenizer_loads_with_both_libraries_and_round_trips(folder):
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    c = config(folder)
    assert tok.bos_token_id == c["bos_token_id"] and tok.eos_token_id == c["eos_token_id"]
    ids = tok(SAMPLE).input_ids
    assert ids[0] == c["bos_token_id"]
    assert tok.decode(ids, skip_special_tokens=True) == SAMPLE
    assert len(tok) <= c["vocab_size"]
    raw = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert raw.encode(SAMPLE).ids == ids
    digits = [t for t in raw.encode("12345").tokens if t not in ("<s>",)]
    assert digits == list("12345"), "digits are split one per token"


def test_candidates_differ_from_the_seed_only_inside_the_merge_scope():
    seed = tensors(DEMO / "models" / "seed")
    for folder in MATH_MODELS:
        if folder.name == "seed":
            continue
        cand = tensors(folder)
        changed = {k for k in seed if not torch.equal(seed[k], cand[k])}
        assert changed, f"{folder.name} equals the seed"
        assert all(MLP.match(k) for k in changed), sorted(changed - {k for k in changed if MLP.match(k)})


def _greedy(model, tok, prompt, max_new, eos):
    ids = tok(prompt, return_tensors="pt").input_ids
    out = []
    past = DynamicCache()
    cur = ids
    with torch.no_grad():
        for _ in range(max_new):
            res = model(input_ids=cur, past_key_values=past, use_cache=True)
            past = res.past_key_values
            t = int(res.logits[0, -1].argmax())
            if t == eos:
                break
            out.append(t)
            if "\n\n" in tok.decode(out, skip_special_tokens=True):
                break
            cur = torch.tensor([[t]])
    text = tok.decode(out, skip_special_tokens=True)
    return text.split("\n\n")[0]


@pytest.mark.parametrize("name", ["seed", "cand-mul"])
def test_recorded_dev_completions_are_reproduced_by_plain_greedy_decoding(name):
    measured = json.loads((DEMO / "measured.json").read_text())
    ev = measured["eval"]
    folder = DEMO / "models" / name
    model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True).eval()
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    for split, key in (("gsm_dev", "question"), ("math_dev", "problem")):
        rows = [json.loads(line) for line in open(DEMO / "data" / f"{split}.jsonl")][:6]
        recorded = measured["dev_items"][name][split][:6]
        for row, want in zip(rows, recorded):
            prompt = ev["prompt"].format(question=row[key])
            assert _greedy(model, tok, prompt, ev["max_new_tokens"], tok.eos_token_id) == want


def _changed_units(folder, seed):
    """Intermediate units of the MLP whose weights the model changed (any layer, any projection)."""
    cand = tensors(folder)
    units = set()
    for k, t in seed.items():
        if not MLP.match(k) or torch.equal(t, cand[k]):
            continue
        d = (cand[k] - t).abs()
        per_unit = d.sum(1) if "down_proj" not in k else d.sum(0)  # gate/up: rows; down: columns
        units.update(int(i) for i in torch.nonzero(per_unit).flatten())
    return units


def test_main_candidates_change_mostly_their_own_mlp_units():
    # So their task vectors mostly add up (merging pays off) but overlap a little (where merging
    # methods differ): see RUNS in train/build_demo.py.
    seed = tensors(DEMO / "models" / "seed")
    units = {n: _changed_units(DEMO / "models" / n, seed) for n in ("cand-sub", "cand-mul", "cand-div")}
    for n, u in units.items():
        assert 64 <= len(u) <= 160, (n, len(u))
    names = list(units)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert len(units[a] & units[b]) <= 32, (a, b, len(units[a] & units[b]))


def test_merging_pays_off_the_best_tuned_baseline_beats_the_seed_by_5_points_on_test():
    # The landscape the paper assumes (issue 14): measured by build_demo.py's `measure` stage,
    # a baseline picked on each benchmark's dev split, then its test split scored once.
    m = json.loads((DEMO / "measured.json").read_text())
    seed = m["models"]["seed"]
    seed_test = (seed["gsm_test"] + seed["math_test"]) / 2
    best = max((b["gsm"]["test"] + b["math"]["test"]) / 2 for b in m["baselines"]["main"]["best"].values())
    assert best - seed_test >= 5, (best, seed_test)
    # And a merge can also lose: merges spread on both sides of the seed on dev.
    grid = m["baselines"]["main"]["grid"]
    assert min(r["gsm_dev"] for r in grid) < seed["gsm_dev"] < max(r["gsm_dev"] for r in grid)
