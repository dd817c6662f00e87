"""The LLM factory's DPO trainer (resources/python/selfdev_dpo.py) trains the demo writer for real.

It runs in .venv-llm (TRL, PEFT and a newer transformers than this suite's), so every test
launches it, or a short probe, as a subprocess of that Python. One trained output is shared by
the module; the judges are transformers, PEFT, datasets and the writer's own tokenizer.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from conftest import DEMO, REPO

sys.path.insert(0, str(DEMO / "train"))
from build_writer import extract, judge, sample, writer_prompt  # noqa: E402  (the writer's own prompt and judge)

VENV_PYTHON = REPO / ".venv-llm" / "bin" / "python"
TRAINER = REPO / "resources" / "python" / "selfdev_dpo.py"
WRITER = DEMO / "models" / "writer"
# Demo hyperparameters (measured for the 1M writer: the paper's lr 1e-6 / beta 0.01 do not move it).
DEMO_HP = {"beta": 0.1, "learningRate": 1e-3, "epochs": 2, "batchSize": 8, "gradientAccumulationSteps": 1,
           "loraRank": 16, "loraAlpha": 32, "loraDropout": 0.05, "targetModules": "all-linear",
           "maxLength": 1024, "lossType": "sigmoid", "warmupRatio": 0.0, "seed": 0, "checkpointSteps": 50}


def venv():
    assert VENV_PYTHON.is_file(), f"{VENV_PYTHON} is missing: run scripts/setup.sh (it makes .venv-llm with TRL and PEFT)"
    return str(VENV_PYTHON)


# --- preference pairs of the writer's own kind ----------------------------------------------------

# (helper, the line that uses it) for the preprocessing step and the combination.
PRE = [(None, None), ("trim_top_k", "taus = [trim_top_k(t, {a}) for t in taus]"),
       ("clip_outliers", "taus = [clip_outliers(t, {b}) for t in taus]"),
       ("trim_below", "taus = [trim_below(t, {b}) for t in taus]")]
COMBINE = [("statistic_weighted_sum", 'merged = statistic_weighted_sum(taus, "{stat}", {b}, "mean")'),
           ("max_magnitude", "merged = max_magnitude(taus)"),
           ("agreement_sum", "merged = agreement_sum(taus, {a})"),
           ("sign_elected_merge", 'merged = sign_elected_merge(taus, "mass", "mean")'),
           ("magnitude_weighted_mean", "merged = magnitude_weighted_mean(taus, {b})"),
           ("fold_in_sequence", 'merged = fold_in_sequence(taus, {a}, "given", "full")')]


def program(k, broken):
    """The k-th compact merge algorithm, fenced as the writer writes it; `broken` gives the same
    program with one of the writer's own failures (NameError from a helper it forgot to import,
    an undefined constant, a syntax error)."""
    pre, combine = PRE[k % len(PRE)], COMBINE[(k // len(PRE)) % len(COMBINE)]
    values = {"a": [0.2, 0.3, 0.5, 0.7][k % 4], "b": [1.0, 1.5, 2.0, 3.0][(k // 3) % 4],
              "stat": ["norm", "variance", "cosine"][k % 3]}
    scale = [0.5, 0.8, 1.0, 1.5, 2.0][(k // 2) % 5]
    helpers = {"as_arrays", "finish", combine[0]} | ({pre[0]} if pre[0] else set())
    lines = ["    taus = as_arrays(task_vectors)"]
    lines += [f"    {pre[1].format(**values)}"] if pre[0] else []
    lines += [f"    {combine[1].format(**values)}", f"    return finish(merged * {scale}, task_vectors)"]
    if broken:
        fault = k % 3
        if fault == 0:
            helpers.discard(combine[0])
        elif fault == 1:
            lines[-1] = "    return finish(merged * SCALE, task_vectors)"
        else:
            lines[-1] = f"    return finish(merged * {scale}, task_vectors"
    code = f"from selfdev_merge import {', '.join(sorted(helpers))}\n\n\ndef merge(task_vectors, name):\n" + "\n".join(lines)
    return f"```python\n{code}\n```"


def pairs(ks, tok):
    """Rows in TRL's standard form with the prompt the generator saw: the writer's chat template
    rendered (starting with the BOS text "<s>"); every fourth with one earlier algorithm shown, as
    the loop's prompt does."""
    template = (DEMO / "prompts" / "writer.md").read_text()
    worked = (DEMO / "prompts" / "worked_example.py").read_text().rstrip("\n") + "\n"
    rows = []
    for k in ks:
        examples = ""
        if k % 4 == 3:
            examples = f"Earlier algorithm 1/a{k:04d} (dev score {40 + k % 17}.{k % 10}):\n{program(k + 7, False)}\n\n"
        text = template.replace("{{examples}}", examples).replace("{{worked_example}}", worked)
        prompt = tok.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)
        rows.append({"prompt": prompt, "chosen": program(k, False), "rejected": program(k, True), "id": f"pair-{k}"})
    return rows


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def spec_file(folder, train, held, hp=None, output=None, **extra):
    spec = {"base": str(WRITER), "train": write_jsonl(folder / "train.jsonl", train),
            "heldOut": write_jsonl(folder / "heldout.jsonl", held), "output": str(output or folder / "staging"),
            "hyperparameters": {**DEMO_HP, **(hp or {})}, "device": "cpu", "threads": 2, **extra}
    (folder / "spec.json").write_text(json.dumps(spec, indent=1))
    return folder / "spec.json", spec


def events(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def train(spec_path, env=None, timeout=120):
    t = time.time()
    p = subprocess.run([venv(), str(TRAINER), str(spec_path)], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    return p, events(p.stdout), time.time() - t


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(str(WRITER), local_files_only=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tok):
    """One real training run on 48 pairs (plus 4 with a raw prompt), 16 held out."""
    folder = tmp_path_factory.mktemp("dpo")
    rows = pairs(range(48), tok)
    raw = [{**r, "prompt": writer_prompt()} for r in pairs(range(100, 104), tok)]  # tokenizer adds BOS itself
    held = pairs(range(200, 216), tok)
    # maxLength as the paper's default: the trainer caps it at the writer's 1024 positions.
    spec_path, spec = spec_file(folder, rows + raw, held, hp={"maxLength": 2048})
    p, ev, seconds = train(spec_path, env={"SELFDEV_DPO_TRACE": str(folder / "trace.jsonl")})
    assert p.returncode == 0, p.stderr[-3000:]
    return {"spec": spec, "events": ev, "out": folder / "staging", "rows": rows + raw, "held": held,
            "trace": folder / "trace.jsonl", "seconds": seconds, "folder": folder}


def test_the_pairs_are_of_the_writers_kind(tok):
    rows = pairs(range(48), tok)
    assert all(r["prompt"].startswith("<s>Write a new merge algorithm") for r in rows)
    assert all(judge(extract(r["chosen"])) is None for r in rows)
    assert all(judge(extract(r["rejected"])) is not None for r in rows)
    assert len({r["chosen"] for r in rows}) == 48


# --- 1: training raises the held-out margin and writes the documented files ---------------------

def test_training_raises_the_held_out_margin_and_writes_adapter_merged_and_metrics(trained):
    out, ev = trained["out"], trained["events"]
    m = json.loads((out / "metrics.json").read_text())
    before, after = m["heldOut"]["before"]["meanMargin"], m["heldOut"]["after"]["meanMargin"]
    print(f"\nheld-out mean margin {before:.2f} -> {after:.2f}; reward accuracy {m['heldOut']['after']['rewardAccuracy']:.2f}; "
          f"loss {m['train']['lossFirst']:.4f} -> {m['train']['lossLast']:.4f}; "
          f"{m['train']['steps']} steps; seconds {m['seconds']} (wall {trained['seconds']:.1f})")
    assert after > before + 5
    assert m["heldOut"]["after"]["rewardAccuracy"] >= 0.75

    assert set(m) >= {"train", "heldOut", "versions", "seconds", "resumedFrom"} and m["resumedFrom"] is None
    assert set(m["train"]) >= {"pairs", "steps", "epochs", "lossFirst", "lossLast", "rewardAccuracy", "rewardMargin"}
    assert m["train"]["pairs"] == 52 and m["train"]["steps"] == 14  # ceil(52 / 8) * 2
    held = m["heldOut"]
    assert held["pairs"] == 16 and len(held["before"]["margins"]) == len(held["after"]["margins"]) == len(held["after"]["rewards"]) == 16
    assert set(held["after"]) >= {"margins", "meanMargin", "rewards", "rewardAccuracy", "rewardMargin"}
    assert m["versions"] == {"trl": "1.16.0", "peft": "0.21.2", "transformers": "4.57.6", "torch": m["versions"]["torch"]}

    assert {p.name for p in (out / "adapter").iterdir()} >= {"adapter_config.json", "adapter_model.safetensors"}
    assert {p.name for p in (out / "merged").iterdir()} >= {"config.json", "model.safetensors", "tokenizer.json",
                                                          "tokenizer_config.json", "generation_config.json"}
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        assert (out / "merged" / name).read_bytes() == (WRITER / name).read_bytes(), name
    assert not (out / "checkpoints").exists()

    kinds = [e["event"] for e in ev]
    assert kinds[0] == "loaded" and kinds[-1] == "done" and "error" not in kinds
    assert ev[0] == {"event": "loaded", "pairs": 52, "heldOut": 16, "steps": 14, "resumedFrom": None, "dropped": 0,
                     "maxLength": 1024, "device": "cpu"}
    steps = [e for e in ev if e["event"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 15)) and all(e["steps"] == 14 for e in steps)
    evaluated = [e for e in ev if e["event"] == "evaluated"]
    assert [e["when"] for e in evaluated] == ["before", "after"]
    assert evaluated[0]["meanMargin"] == pytest.approx(before, rel=1e-6) and evaluated[1]["meanMargin"] == pytest.approx(after)
    # The Trainer also checkpoints the last step: a kill while saving costs only the saving.
    assert [(e["what"], e.get("step")) for e in ev if e["event"] == "saved"] == [("checkpoint", 14), ("adapter", None), ("merged", None)]


def test_per_pair_log_probs_agree_with_trls_own_eval_figures(trained):
    """The per-pair figures come from TRL's collator and fused head; TRL's evaluate() averages the
    same quantities per batch of 8 (16 pairs: two equal batches, so the plain mean)."""
    after = json.loads((trained["out"] / "metrics.json").read_text())["heldOut"]["after"]
    trl = after["trl"]
    assert after["rewardMargin"] == pytest.approx(trl["rewards/margins"], abs=1e-4)
    assert after["rewardAccuracy"] == pytest.approx(trl["rewards/accuracies"], abs=1e-6)
    # logps/chosen - logps/rejected, averaged, is the mean policy margin.
    assert after["meanMargin"] == pytest.approx(trl["logps/chosen"] - trl["logps/rejected"], abs=1e-3)


# --- 2: the merged model is base + adapter -------------------------------------------------------

PROBE_PEFT = """
import json, sys, numpy as np, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
base_dir, adapter_dir, out = sys.argv[1:4]
ids = torch.tensor(json.loads(sys.argv[4]))
base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
with torch.no_grad():
    np.save(out + "/base.npy", base(input_ids=ids).logits.numpy())
    peft = PeftModel.from_pretrained(base, adapter_dir).eval()
    np.save(out + "/peft.npy", peft(input_ids=ids).logits.numpy())
"""


def test_the_merged_model_equals_base_plus_adapter_and_differs_from_the_base(trained, tok):
    out, folder = trained["out"], trained["folder"]
    texts = [trained["held"][0]["prompt"] + trained["held"][0]["chosen"], trained["rows"][5]["prompt"] + trained["rows"][5]["rejected"]]
    n = min(len(tok(t, add_special_tokens=False).input_ids) for t in texts)
    ids = [tok(t, add_special_tokens=False).input_ids[:n] for t in texts]
    p = subprocess.run([venv(), "-c", PROBE_PEFT, str(WRITER), str(out / "adapter"), str(folder), json.dumps(ids)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    # merged/ read by this suite's transformers (4.46), as the project's other Python code reads models.
    merged = AutoModelForCausalLM.from_pretrained(str(out / "merged"), torch_dtype=torch.float32, local_files_only=True).eval()
    with torch.no_grad():
        logits = merged(input_ids=torch.tensor(ids)).logits.numpy()
    peft, base = np.load(folder / "peft.npy"), np.load(folder / "base.npy")
    print(f"\nmax |merged - base+adapter| = {np.abs(logits - peft).max():.2e}; max |merged - base| = {np.abs(logits - base).max():.3f}")
    assert np.abs(logits - peft).max() < 1e-4
    assert np.abs(logits - base).max() > 0.05


def test_the_refined_writer_still_writes_valid_algorithms(trained):
    """A larger step (rank 64, or rank 256 at lr 1e-3) widens the held-out margin further but breaks
    the writer (about 5 of 80 samples valid): the demo values must not."""
    codes = [extract(t) for t in sample(trained["out"] / "merged", 40, 1.0, seed=1)]
    ran = [c for c in codes if judge(c) is None]
    assert len(ran) >= 30, f"{len(ran)} of 40 samples ran"


# --- 3: the ids TRL trains on are the generator's -------------------------------------------------

def test_trl_trains_on_the_token_ids_the_generator_sees_and_writes(trained, tok):
    eos = tok.eos_token_id
    expected = set()
    for r in trained["rows"]:
        # The generator: a prompt starting with the BOS text is encoded as is, else with the specials.
        rendered = r["prompt"].startswith(tok.bos_token)
        prompt = tok(r["prompt"], add_special_tokens=not rendered).input_ids
        if rendered:  # what the model saw: its chat template's tokens
            assert prompt == tok.apply_chat_template([{"role": "user", "content": r["prompt"][len("<s>"):]}], tokenize=True,
                                                     add_generation_prompt=True)
        assert prompt.count(tok.bos_token_id) == 1
        for c in (r["chosen"], r["rejected"]):
            expected.add((tuple(prompt), tuple(tok(c, add_special_tokens=False).input_ids + [eos])))
    seen = {(tuple(s["prompt"]), tuple(s["completion"])) for line in trained["trace"].read_text().splitlines() for s in json.loads(line)}
    assert seen == expected
    # The trap avoided: text rows tokenised with the specials (as TRL 1.16 does) would start with BOS twice.
    assert tok(trained["rows"][0]["prompt"]).input_ids[:2] == [tok.bos_token_id] * 2


# --- 4: a killed trainer resumes -------------------------------------------------------------------

def test_a_killed_trainer_leaves_no_metrics_and_the_rerun_resumes_exactly(tmp_path, tok):
    """Killed after its first checkpoint, the rerun resumes from it; a copy whose checkpoints are
    damaged restarts from scratch, as an uninterrupted run (without a held-out set, which must not
    change training): both end with the same adapter."""

    spec_path, spec = spec_file(tmp_path, pairs(range(24), tok), pairs(range(300, 304), tok),
                                hp={"batchSize": 2, "epochs": 1, "checkpointSteps": 2})
    out = tmp_path / "staging"
    proc = subprocess.Popen([venv(), str(TRAINER), str(spec_path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=os.environ.copy())
    try:
        for line in proc.stdout:
            e = json.loads(line)
            if e["event"] == "saved" and e["what"] == "checkpoint":
                proc.send_signal(signal.SIGKILL)
                break
            assert e["event"] != "done", "finished before it could be killed"
    finally:
        proc.kill()
        proc.wait()
    assert not (out / "metrics.json").exists()
    assert list((out / "checkpoints").glob("checkpoint-*"))

    # The damaged copy: the same spec with its own output folder and no held-out pairs.
    shutil.copytree(out, tmp_path / "damaged")
    for f in (tmp_path / "damaged" / "checkpoints").glob("checkpoint-*/optimizer.safetensors"):
        f.write_bytes(b"not a safetensors file")
    damaged_spec = tmp_path / "damaged.json"
    damaged_spec.write_text(json.dumps({**spec, "output": str(tmp_path / "damaged"), "heldOut": write_jsonl(tmp_path / "none.jsonl", [])}))

    p, ev, _ = train(spec_path)
    assert p.returncode == 0, p.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    p2, ev2, _ = train(damaged_spec)
    assert p2.returncode == 0, p2.stderr[-3000:]
    m2 = json.loads((tmp_path / "damaged" / "metrics.json").read_text())
    print(f"\nresumed from step {m['resumedFrom']}: last loss {m['train']['lossLast']}; restarted: {m2['train']['lossLast']}")

    assert m["resumedFrom"] is not None and m["resumedFrom"] >= 2 and ev[0]["resumedFrom"] == m["resumedFrom"]
    assert "restarted" not in [e["event"] for e in ev]
    assert m["train"]["steps"] == 12
    assert [e["step"] for e in ev if e["event"] == "step"] == list(range(m["resumedFrom"] + 1, 13))
    assert m["train"]["lossFirst"] is not None  # the log history comes back with the checkpoint

    assert [e["event"] for e in ev2][:2] == ["loaded", "restarted"] and m2["resumedFrom"] is None
    assert ev2[0]["heldOut"] == 0 and m2["heldOut"] is None and "evaluated" not in [e["event"] for e in ev2]
    assert "resuming from checkpoint-" in ev2[1]["reason"]
    assert [e["step"] for e in ev2 if e["event"] == "step"] == list(range(1, 13))
    assert m["train"]["lossLast"] == pytest.approx(m2["train"]["lossLast"], rel=1e-4)
    a, b = load_file(out / "adapter" / "adapter_model.safetensors"), load_file(tmp_path / "damaged" / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-7) for k in a)


def test_a_stopped_trainer_exits_promptly_without_metrics(tmp_path, tok):
    spec_path, _ = spec_file(tmp_path, pairs(range(16), tok), [], hp={"batchSize": 2, "epochs": 3})
    proc = subprocess.Popen([venv(), str(TRAINER), str(spec_path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=os.environ.copy())
    for line in proc.stdout:
        if json.loads(line)["event"] == "step":
            proc.send_signal(signal.SIGTERM)
            t = time.time()
            break
    rest = events(proc.stdout.read())
    assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    assert time.time() - t < 10
    assert rest[-1]["event"] == "error" and rest[-1]["errorClass"] == "cancelled"
    assert not (tmp_path / "staging" / "metrics.json").exists()


# --- 5: the files are datasets' and TRL's standard preference format -------------------------------

PROBE_DATASETS = """
import json, sys
from datasets import load_dataset
ds = load_dataset("json", data_files={"train": sys.argv[1], "test": sys.argv[2]}, cache_dir=sys.argv[3])
print(json.dumps({k: {"columns": v.column_names, "rows": v.num_rows, "types": {c: str(t) for c, t in v.features.items()}}
                  for k, v in ds.items()}))
"""


def test_the_jsonl_files_load_with_datasets_as_trls_standard_preference_format(trained, tmp_path):
    spec = trained["spec"]
    p = subprocess.run([venv(), "-c", PROBE_DATASETS, spec["train"], spec["heldOut"], str(tmp_path / "cache")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["train"]["rows"] == 52 and got["test"]["rows"] == 16
    for split in got.values():
        assert split["columns"][:3] == ["prompt", "chosen", "rejected"]
        assert all(split["types"][c] == "Value('string')" for c in ("prompt", "chosen", "rejected"))


# --- 6: bad input is said clearly, before the heavy stack loads --------------------------------------

def bad_cases(tmp):
    row = {"prompt": "p", "chosen": "c", "rejected": "r"}
    yield "missing base", {"base": str(tmp / "nope")}, None, "base model folder"
    yield "malformed line", {}, [json.dumps(row), json.dumps(row), '{"prompt": "p", "chosen":'], "line 3"
    yield "missing field", {}, [json.dumps(row), json.dumps({"prompt": "p", "chosen": "c"})], "line 2: the row has no 'rejected'"
    yield "non-string", {}, [json.dumps({**row, "chosen": 5})], "'chosen' must be a string"
    yield "no rows", {}, [], "has no rows"
    yield "beta", {"hyperparameters": {**DEMO_HP, "beta": -1}}, None, "beta must be"
    yield "loss type", {"hyperparameters": {**DEMO_HP, "lossType": "magic"}}, None, "lossType must be one of"
    yield "missing key", {"hyperparameters": {k: v for k, v in DEMO_HP.items() if k != "seed"}}, None, "lack seed"
    yield "not a model", {"base": str(DEMO / "prompts")}, None, "has no config.json"


def test_bad_input_exits_2_with_a_clear_message(tmp_path, tok):
    for name, change, train_lines, words in bad_cases(tmp_path):
        folder = tmp_path / name.replace(" ", "_")
        folder.mkdir()
        spec_path, spec = spec_file(folder, pairs(range(2), tok), [])
        if train_lines is not None:
            (folder / "train.jsonl").write_text("".join(line + "\n" for line in train_lines))
        spec_path.write_text(json.dumps({**spec, **change}))
        t = time.time()
        p = subprocess.run([venv(), str(TRAINER), str(spec_path)], capture_output=True, text=True, timeout=60)
        ev = events(p.stdout)
        assert p.returncode == 2, (name, p.stdout, p.stderr[-2000:])
        assert len(ev) == 1 and ev[0]["event"] == "error" and ev[0]["errorClass"] == "bad_input", name
        assert words in ev[0]["message"], (name, ev[0]["message"])
        assert time.time() - t < 5, f"{name}: the heavy stack was loaded"
        assert not (folder / "staging" / "metrics.json").exists()
