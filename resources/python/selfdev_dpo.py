#!/usr/bin/env python3
"""The LLM factory's DPO trainer: TRL's DPOTrainer with a PEFT LoRA adapter on the generator.

    python selfdev_dpo.py SPEC.json

SPEC.json: {"base": model folder, "train": JSONL, "heldOut": JSONL (may be empty), "output":
folder, "hyperparameters": {...}, "device": "cpu" | "cuda" | "auto", "threads": int | null}; rows
are TRL's standard preference format {"prompt", "chosen", "rejected"} (other keys are ignored).

Writes output/adapter/ (the LoRA adapter), output/merged/ (base + adapter, a plain model folder
in the base's dtype with the base's config and tokenizer files) and, last, output/metrics.json:
its presence means the run finished. Checkpoints go to output/checkpoints/; a run killed earlier
with the same spec is resumed from its last one.

Stdout carries only events, one JSON object a line (loaded, evaluated, step, saved, restarted,
done, error); library output goes to stderr. Exit 0 on success, 2 on bad input or out of memory
(with an error event), 1 on anything else (traceback on stderr), 128 + signal when stopped.

Token ids are those the project's generator sees and writes: the prompt encoded without added
specials when it starts with the tokenizer's BOS text (a rendered chat template), else with
them; the completion encoded without specials, then EOS. TRL 1.16's own tokenisation of text
rows would double that BOS and split prompt from completion where the joint encoding diverges,
so the rows are tokenised here (DPOTrainer._prepare_dataset is replaced) and everything else,
the collator, loss, logging and checkpoints, is TRL's and transformers'. Other departures from
their defaults, each for a reason given where it is made: the optimizer and scheduler of a
checkpoint are stored as safetensors and JSON (transformers 4.57 will not torch.load them under
torch 2.5), maxLength is capped at the model's positions, the base's dropout is off but the
adapter's kept, and training is reseeded after the held-out evaluation.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path

# TRL's losses that need no parameter beyond beta (exo_pair needs label smoothing).
LOSS_TYPES = ("sigmoid", "hinge", "ipo", "robust", "nca_pair", "bco_pair", "sppo_hard", "aot",
              "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm")
HYPERPARAMETERS = ("beta", "learningRate", "epochs", "batchSize", "gradientAccumulationSteps",
                   "loraRank", "loraAlpha", "loraDropout", "targetModules", "maxLength", "lossType",
                   "warmupRatio", "seed", "checkpointSteps")
BASE_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")
# Copied verbatim from the base into merged/, when present.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                   "added_tokens.json", "chat_template.jinja", "generation_config.json")
# Fields that define the architecture: merging an adapter must leave them as they were.
ARCHITECTURE_KEYS = ("architectures", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
                     "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings",
                     "rope_theta", "rope_scaling", "rms_norm_eps", "tie_word_embeddings", "hidden_act",
                     "attention_bias", "mlp_bias")
# Test hook: when set, every training batch's token ids, as TRL's collator built them, are appended
# to this JSONL file, so a test can check the ids the loss sees.
TRACE = os.environ.get("SELFDEV_DPO_TRACE")

_events = None  # the real stdout; everything else printed goes to stderr


class BadInput(Exception):
    """The spec, the data or the base folder is unusable: the message says which and why."""


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived (a BaseException so that no library handler swallows it)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def emit(event: str, **fields):
    _events.write(json.dumps({"event": event, **_finite(fields)}, allow_nan=False) + "\n")
    _events.flush()


def _finite(x):
    """NaN and infinities as null: the reader is JSON.parse."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


# ---------------------------------------------------------------------------------------------
# Checking the input, before the heavy stack is imported


def load_spec(path: str) -> dict:
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise BadInput(f"cannot read the spec file {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"the spec file {path} is not valid JSON (line {e.lineno}: {e.msg})") from None
    if not isinstance(spec, dict):
        raise BadInput(f"the spec file {path} must hold a JSON object")
    for key in ("base", "train", "heldOut", "output"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise BadInput(f"the spec's {key!r} must be a path (a non-empty string)")
    if not isinstance(spec.get("hyperparameters"), dict):
        raise BadInput("the spec's 'hyperparameters' must be an object")
    check_hyperparameters(spec["hyperparameters"])
    if spec.get("device", "auto") not in ("cpu", "cuda", "auto"):
        raise BadInput(f"the spec's device must be 'cpu', 'cuda' or 'auto', not {spec.get('device')!r}")
    threads = spec.get("threads")
    if threads is not None and not (_is_int(threads) and threads >= 1):
        raise BadInput(f"the spec's threads must be a positive integer or null, not {threads!r}")
    check_base(Path(spec["base"]))
    return spec


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_hyperparameters(hp: dict):
    missing = [k for k in HYPERPARAMETERS if k not in hp]
    if missing:
        raise BadInput(f"hyperparameters lack {', '.join(missing)}")
    ranges = {  # name: (test, what it must be)
        "beta": (lambda v: _is_number(v) and v > 0, "a number > 0"),
        "learningRate": (lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
        "epochs": (lambda v: _is_number(v) and 0 < v <= 1000, "a number in (0, 1000]"),
        "batchSize": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "gradientAccumulationSteps": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "loraRank": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "loraAlpha": (lambda v: _is_number(v) and v > 0, "a number > 0"),
        "loraDropout": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
        "targetModules": (lambda v: (isinstance(v, str) and v != "") or (
            isinstance(v, list) and v != [] and all(isinstance(m, str) and m for m in v)),
            '"all-linear", a module name or a non-empty list of module names'),
        "maxLength": (lambda v: _is_int(v) and v >= 2, "an integer >= 2"),
        "lossType": (lambda v: v in LOSS_TYPES, "one of " + ", ".join(LOSS_TYPES)),
        "warmupRatio": (lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
        "seed": (lambda v: _is_int(v) and 0 <= v < 2**32, "an integer in [0, 2^32)"),
        "checkpointSteps": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    }
    for name, (ok, what) in ranges.items():
        if not ok(hp[name]):
            raise BadInput(f"hyperparameter {name} must be {what}, not {json.dumps(hp[name])}")


def check_base(base: Path):
    if not base.is_dir():
        raise BadInput(f"the base model folder {base} does not exist or is not a folder")
    for name in BASE_FILES:
        if not (base / name).is_file():
            raise BadInput(f"the base model folder {base} has no {name}")
    if not ((base / "model.safetensors").is_file() or (base / "model.safetensors.index.json").is_file()):
        raise BadInput(f"the base model folder {base} has no model.safetensors")
    try:
        json.loads((base / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BadInput(f"cannot read {base / 'config.json'}: {e}") from None


def read_pairs(path: str, what: str) -> list[dict]:
    """The {"prompt", "chosen", "rejected"} rows of a JSONL file (blank lines skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot read the {what} file {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise BadInput(f"the {what} file {path} is not UTF-8 text") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadInput(f"{what} file {path}, line {n}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise BadInput(f"{what} file {path}, line {n}: a row must be a JSON object")
        for field in ("prompt", "chosen", "rejected"):
            if field not in row:
                raise BadInput(f"{what} file {path}, line {n}: the row has no {field!r} field")
            if not isinstance(row[field], str):
                raise BadInput(f"{what} file {path}, line {n}: {field!r} must be a string, "
                               f"not {type(row[field]).__name__}")
        rows.append({"prompt": row["prompt"], "chosen": row["chosen"], "rejected": row["rejected"]})
    return rows


def fingerprint(spec: dict) -> str:
    """Identifies what the checkpoints depend on: the base's files, the training data and the
    hyperparameters (not the held-out set nor the device)."""
    h = hashlib.sha256()
    base = Path(spec["base"])
    for p in sorted(base.iterdir()):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    h.update(Path(spec["train"]).read_bytes())
    h.update(json.dumps(spec["hyperparameters"], sort_keys=True).encode())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Tokenisation as the generator does it


def encode_pair(tokenizer, row: dict) -> dict:
    bos, eos = tokenizer.bos_token, tokenizer.eos_token_id
    rendered = bool(bos) and row["prompt"].startswith(bos)
    prompt = tokenizer(row["prompt"], add_special_tokens=not rendered)["input_ids"]

    def completion(text):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        # A completion that already ends with the EOS text keeps its one EOS (as TRL does).
        return ids if ids and ids[-1] == eos else ids + [eos]

    return {"prompt_ids": prompt, "chosen_ids": completion(row["chosen"]), "rejected_ids": completion(row["rejected"])}


# ---------------------------------------------------------------------------------------------
# Checkpoints


def complete_checkpoints(folder: Path) -> list[Path]:
    """checkpoint-N folders that were saved to the end (trainer_state.json is written last), by
    step; half-written ones (a kill during a save) are removed."""
    done = []
    for p in folder.glob("checkpoint-*"):
        if not p.is_dir() or not p.name.split("-", 1)[1].isdigit():
            continue
        if (p / "trainer_state.json").is_file():
            done.append(p)
        else:
            shutil.rmtree(p, ignore_errors=True)
    return sorted(done, key=lambda p: int(p.name.split("-", 1)[1]))


def prepare_checkpoints(folder: Path, print_: str):
    """The checkpoint to resume from, or None; checkpoints of another spec are discarded."""
    if not folder.exists():
        return None
    stamp = folder / "spec.sha256"
    found = complete_checkpoints(folder)
    same = stamp.is_file() and stamp.read_text().strip() == print_
    if found and same:
        return found[-1]
    if found:
        emit("restarted", reason=f"the checkpoints in {folder} are from another spec; training from the start")
    shutil.rmtree(folder, ignore_errors=True)
    return None


# ---------------------------------------------------------------------------------------------
# Training


def is_oom(e: BaseException) -> bool:
    text = str(e).lower()
    return isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError" or \
        any(words in text for words in ("out of memory", "can't allocate memory", "not enough memory"))


def run(spec: dict, t0: float) -> dict:
    hp = spec["hyperparameters"]
    out = Path(spec["output"])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"cannot create the output folder {out}: {e.strerror or e}") from None
    # An earlier run's metrics must not pass for this one's.
    (out / "metrics.json").unlink(missing_ok=True)
    train_rows = read_pairs(spec["train"], "train")
    held_rows = read_pairs(spec["heldOut"], "heldOut")
    if not train_rows:
        raise BadInput(f"the train file {spec['train']} has no rows")

    if spec.get("threads"):
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(spec["threads"])
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                      TOKENIZERS_PARALLELISM="false", HF_HUB_DISABLE_TELEMETRY="1")
    seconds = {}
    tick = time.time()
    import torch
    import datasets
    import peft
    import transformers
    import trl
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from transformers.trainer_utils import set_seed
    from trl import DPOConfig, DPOTrainer
    from trl.trainer.utils import disable_dropout_in_model

    seconds["import"] = round(time.time() - tick, 3)
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_warning()
    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])

    device = spec.get("device", "auto")
    if device == "cuda" and not torch.cuda.is_available():
        raise BadInput("the spec asks for device 'cuda' but torch sees no CUDA device")
    on_gpu = device == "cuda" or (device == "auto" and torch.cuda.is_available())

    tick = time.time()
    base = Path(spec["base"])
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    except Exception as e:  # noqa: BLE001 - any failure here is the folder's
        raise BadInput(f"cannot load the tokenizer of {base}: {e}") from None
    if tokenizer.eos_token_id is None:
        raise BadInput(f"the tokenizer of {base} has no EOS token, which ends every completion")

    # No longer than the model's positions: the generator never sees more.
    positions = json.loads((base / "config.json").read_text(encoding="utf-8")).get("max_position_embeddings")
    max_length = min(hp["maxLength"], positions) if _is_int(positions) and positions >= 2 else hp["maxLength"]
    # Token ids, and the rows whose prompt alone fills max_length dropped (no completion token
    # would be left to learn from; TRL drops them too).
    train_ids = [encode_pair(tokenizer, r) for r in train_rows]
    kept = [e for e in train_ids if len(e["prompt_ids"]) < max_length]
    dropped = len(train_ids) - len(kept)
    if not kept:
        raise BadInput(f"every training prompt is at least maxLength = {max_length} tokens long")
    train_ds = datasets.Dataset.from_list(kept)
    held_ds = datasets.Dataset.from_list([encode_pair(tokenizer, r) for r in held_rows]) if held_rows else None

    ckpt_dir = out / "checkpoints"
    print_ = fingerprint(spec)
    resume = prepare_checkpoints(ckpt_dir, print_)

    class GeneratorAlignedDPOTrainer(DPOTrainer):
        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            # The rows arrive tokenised (encode_pair); TRL's text tokenisation would change them.
            if "prompt_ids" not in dataset.column_names:
                raise ValueError(f"the {dataset_name} dataset must be tokenised by encode_pair")
            return dataset

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if TRACE and model.training:
                trace_batch(inputs)
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

        # transformers 4.57 refuses to torch.load the optimizer and scheduler of a checkpoint under
        # torch < 2.6 (CVE-2025-32434), so with the pinned torch 2.5.1 no checkpoint could be
        # resumed: they are kept as safetensors and JSON instead, which load without pickle.
        def _save_optimizer_and_scheduler(self, output_dir):
            if self.is_deepspeed_enabled or self.is_fsdp_enabled:
                return super()._save_optimizer_and_scheduler(output_dir)
            save_optimizer(self.optimizer, self.lr_scheduler, Path(output_dir))

        def _load_optimizer_and_scheduler(self, checkpoint):
            if checkpoint is None or self.is_deepspeed_enabled or self.is_fsdp_enabled:
                return super()._load_optimizer_and_scheduler(checkpoint)
            load_optimizer(self.optimizer, self.lr_scheduler, Path(checkpoint))

    class Progress(TrainerCallback):
        def __init__(self):
            self.steps_here = 0  # optimizer steps done by this process

        def on_step_end(self, args, state, control, **kw):
            self.steps_here += 1

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs and not any(k.startswith("eval_") for k in logs):
                emit("step", step=state.global_step, steps=state.max_steps, epoch=logs.get("epoch", state.epoch),
                     loss=logs["loss"], rewardAccuracy=logs.get("rewards/accuracies"),
                     rewardMargin=logs.get("rewards/margins"), learningRate=logs.get("learning_rate"))

        def on_save(self, args, state, control, **kw):
            emit("saved", what="checkpoint", step=state.global_step)

    def build():
        set_seed(hp["seed"])
        try:
            model = AutoModelForCausalLM.from_pretrained(str(base), dtype="auto", local_files_only=True)
        except Exception as e:  # noqa: BLE001
            if is_oom(e):
                raise
            raise BadInput(f"cannot load the model of {base}: {e}") from None
        # The base's own dropout off (the reference must be deterministic), the adapter's kept:
        # TRL's disable_dropout would zero loraDropout as well, so it is done here, before PEFT.
        disable_dropout_in_model(model)
        args = DPOConfig(
            output_dir=str(ckpt_dir), report_to=[], disable_tqdm=True,
            use_cpu=not on_gpu, bf16=on_gpu and torch.cuda.is_bf16_supported(),
            gradient_checkpointing=on_gpu,  # memory for large models; needless cost on tiny ones
            seed=hp["seed"], data_seed=hp["seed"], beta=hp["beta"], loss_type=[hp["lossType"]],
            learning_rate=hp["learningRate"], num_train_epochs=hp["epochs"],
            per_device_train_batch_size=hp["batchSize"], per_device_eval_batch_size=hp["batchSize"],
            gradient_accumulation_steps=hp["gradientAccumulationSteps"], warmup_ratio=hp["warmupRatio"],
            max_length=max_length, disable_dropout=False,
            logging_strategy="steps", logging_steps=1, eval_strategy="no",
            save_strategy="steps", save_steps=hp["checkpointSteps"], save_total_limit=2,
        )
        lora = LoraConfig(r=hp["loraRank"], lora_alpha=hp["loraAlpha"], lora_dropout=hp["loraDropout"],
                          target_modules=hp["targetModules"], task_type="CAUSAL_LM")
        progress = Progress()
        trainer = GeneratorAlignedDPOTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=held_ds,
                                             processing_class=tokenizer, peft_config=lora, callbacks=[progress])
        return trainer, progress

    def stamp():
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        (ckpt_dir / "spec.sha256").write_text(print_ + "\n")

    trainer, progress = build()
    base_dtype = trainer.accelerator.unwrap_model(trainer.model).get_base_model().dtype
    seconds["load"] = round(time.time() - tick, 3)

    # The same count as transformers' Trainer (one process): optimizer steps per epoch, rounded up.
    per_epoch = max(math.ceil(math.ceil(len(train_ds) / hp["batchSize"]) / hp["gradientAccumulationSteps"]), 1)
    steps = math.ceil(hp["epochs"] * per_epoch)
    resumed_from = int(resume.name.split("-", 1)[1]) if resume else None
    emit("loaded", pairs=len(train_ds), heldOut=len(held_rows), steps=steps, resumedFrom=resumed_from,
         dropped=dropped, maxLength=max_length, device="cuda" if on_gpu else "cpu")

    if held_ds is not None:
        tick = time.time()
        margins = [c - r for c, r in zip(*pair_logps(trainer, held_ds, adapter=False))]
        seconds["evaluateBefore"] = round(time.time() - tick, 3)
        emit("evaluated", when="before", meanMargin=_mean(margins), pairs=len(margins))

    tick = time.time()
    stamp()
    # Reseeded here: every DataLoader iteration (the evaluation above included) draws from the
    # global RNG, and training must not depend on whether there was a held-out set.
    set_seed(hp["seed"])
    try:
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    except Exception as e:  # noqa: BLE001 - a failed resume is retried from scratch, once
        if resume is None or progress.steps_here > 0 or is_oom(e):
            raise
        emit("restarted", reason=f"resuming from {resume.name} failed ({type(e).__name__}: {e}); "
                                 "training from the start")
        shutil.rmtree(ckpt_dir, ignore_errors=True)
        resumed_from = None
        trainer, progress = build()
        stamp()
        set_seed(hp["seed"])
        trainer.train()
    seconds["train"] = round(time.time() - tick, 3)
    logged = [h for h in trainer.state.log_history if "loss" in h and not any(k.startswith("eval_") for k in h)]
    train = {"pairs": len(train_ds), "steps": trainer.state.global_step, "epochs": trainer.state.epoch,
             "lossFirst": logged[0]["loss"] if logged else None, "lossLast": logged[-1]["loss"] if logged else None,
             "rewardAccuracy": logged[-1].get("rewards/accuracies") if logged else None,
             "rewardMargin": logged[-1].get("rewards/margins") if logged else None, "dropped": dropped}

    held = None
    if held_ds is not None:
        tick = time.time()
        # Policy and reference (the base: adapter off) measured side by side, as TRL's loss does, so
        # that both run under the same precision once the Trainer has prepared the model.
        after = pair_logps(trainer, held_ds, adapter=True)
        ref = pair_logps(trainer, held_ds, adapter=False)
        before_m = [c - r for c, r in zip(*ref)]
        after_m = [c - r for c, r in zip(*after)]
        rewards = [hp["beta"] * ((pc - rc) - (pr - rr)) for pc, pr, rc, rr in zip(*after, *ref)]
        trl_eval = trainer.evaluate()  # TRL's own figures on the same pairs, as a cross-check
        seconds["evaluateAfter"] = round(time.time() - tick, 3)
        held = {"pairs": len(held_rows),
                "before": {"margins": before_m, "meanMargin": _mean(before_m)},
                "after": {"margins": after_m, "meanMargin": _mean(after_m), "rewards": rewards,
                          "rewardAccuracy": sum(r > 0 for r in rewards) / len(rewards),
                          "rewardMargin": _mean(rewards),
                          "trl": {k[len("eval_"):]: v for k, v in trl_eval.items() if k.startswith("eval_")}}}
        emit("evaluated", when="after", meanMargin=held["after"]["meanMargin"],
             rewardAccuracy=held["after"]["rewardAccuracy"], rewardMargin=held["after"]["rewardMargin"])

    tick = time.time()
    peft_model = trainer.accelerator.unwrap_model(trainer.model)
    save_adapter(peft_model, out)
    emit("saved", what="adapter")
    save_merged(peft_model, base, out, base_dtype)
    emit("saved", what="merged")
    seconds["save"] = round(time.time() - tick, 3)

    # Finished: the checkpoints go before metrics.json says so (a kill in between only costs a rerun).
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    seconds["total"] = round(time.time() - t0, 3)
    metrics = {"train": train, "heldOut": held,
               "versions": {"trl": trl.__version__, "peft": peft.__version__,
                            "transformers": transformers.__version__, "torch": torch.__version__},
               "seconds": seconds, "resumedFrom": resumed_from}
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(_finite(metrics), indent=1, allow_nan=False) + "\n")
    os.replace(tmp, out / "metrics.json")
    return seconds


def _mean(xs):
    return sum(xs) / len(xs) if xs else None


def pair_logps(trainer, dataset, adapter: bool):
    """Per pair, (log pi(chosen|prompt), log pi(rejected|prompt)) summed over the completion
    tokens, by TRL's own path: its collator, batches and fused log-prob head, reference = adapter
    disabled (as DPOTrainer._compute_loss does)."""
    import torch

    model = trainer.accelerator.unwrap_model(trainer.model)
    was_training = model.training
    model.eval()
    chosen, rejected = [], []
    off = contextlib.nullcontext() if adapter else model.disable_adapter()
    with torch.no_grad(), off, trainer.compute_loss_context_manager():
        for batch in trainer.get_eval_dataloader(dataset):
            batch = trainer._prepare_inputs(batch)
            mask = batch["completion_mask"]
            labels = batch["input_ids"].masked_fill(mask == 0, -100)
            out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels,
                        use_cache=False, fused_lm_head=True)
            logps = out.log_probs[:, -(mask.size(1) - 1):].sum(dim=1).float().cpu()
            c, r = logps.chunk(2, dim=0)
            chosen += c.tolist()
            rejected += r.tolist()
    model.train(was_training)
    return chosen, rejected


OPTIMIZER_FILE, SCHEDULER_FILE = "optimizer.safetensors", "scheduler.json"


def save_optimizer(optimizer, scheduler, folder: Path):
    """The optimizer's state dict as tensors (safetensors) plus a JSON layout of the rest."""
    from safetensors.torch import save_file

    state = optimizer.state_dict()
    tensors, layout = {}, {"param_groups": state["param_groups"], "state": {}}
    for idx, entries in state["state"].items():
        slots = layout["state"][str(idx)] = {}
        for key, value in entries.items():
            if hasattr(value, "detach"):
                tensors[f"{idx}.{key}"] = value.detach().cpu().contiguous()
                slots[key] = {"tensor": f"{idx}.{key}"}
            else:
                slots[key] = {"value": value}
    save_file(tensors, str(folder / OPTIMIZER_FILE), metadata={"layout": json.dumps(layout)})
    (folder / SCHEDULER_FILE).write_text(json.dumps(scheduler.state_dict()))


def load_optimizer(optimizer, scheduler, folder: Path):
    from safetensors import safe_open

    with safe_open(str(folder / OPTIMIZER_FILE), "pt") as f:
        layout = json.loads(f.metadata()["layout"])
        state = {int(idx): {key: f.get_tensor(slot["tensor"]) if "tensor" in slot else slot["value"]
                            for key, slot in slots.items()}
                 for idx, slots in layout["state"].items()}
    optimizer.load_state_dict({"state": state, "param_groups": layout["param_groups"]})
    scheduler.load_state_dict(json.loads((folder / SCHEDULER_FILE).read_text()))


def trace_batch(inputs):
    rows = []
    for ids, att, comp in zip(inputs["input_ids"].tolist(), inputs["attention_mask"].tolist(),
                              inputs["completion_mask"].tolist()):
        rows.append({"prompt": [t for t, a, c in zip(ids, att, comp) if a and not c],
                     "completion": [t for t, a, c in zip(ids, att, comp) if a and c]})
    with open(TRACE, "a") as f:
        f.write(json.dumps(rows) + "\n")


def _fresh(folder: Path) -> Path:
    """An empty folder `folder`.partial, to be renamed onto `folder` when complete."""
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def _install(tmp: Path, folder: Path):
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def save_adapter(peft_model, out: Path):
    tmp = _fresh(out / "adapter")
    peft_model.save_pretrained(str(tmp), safe_serialization=True)
    _install(tmp, out / "adapter")


def save_merged(peft_model, base: Path, out: Path, dtype):
    """Base + adapter as a plain model folder: the merged weights in the base's dtype, under
    the base's tensor names and shapes, with the base's config and tokenizer files verbatim (the
    architecture is unchanged; transformers would rewrite config.json with another dtype key and
    version, which simple readers of config.json need not know)."""
    tmp = _fresh(out / "merged")
    merged = peft_model.merge_and_unload().to(dtype)
    merged.save_pretrained(str(tmp), safe_serialization=True)
    base_config = json.loads((base / "config.json").read_text(encoding="utf-8"))
    saved_config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
    changed = [k for k in ARCHITECTURE_KEYS if k in base_config and saved_config.get(k, base_config[k]) != base_config[k]]
    if changed:
        raise RuntimeError(f"the merged model's config differs from the base's in {changed}")
    if tensor_shapes(tmp) != tensor_shapes(base):
        raise RuntimeError("the merged model's tensors differ in names or shapes from the base's")
    shutil.copyfile(base / "config.json", tmp / "config.json")
    (tmp / "generation_config.json").unlink(missing_ok=True)  # the base's, if any, below
    for name in TOKENIZER_FILES:
        if (base / name).is_file():
            shutil.copyfile(base / name, tmp / name)
    _install(tmp, out / "merged")


def tensor_shapes(folder: Path) -> dict:
    from safetensors import safe_open

    shapes = {}
    for f in sorted(folder.glob("*.safetensors")):
        with safe_open(str(f), "pt") as st:
            for k in st.keys():
                shapes[k] = tuple(st.get_slice(k).get_shape())
    return shapes


def main(argv) -> int:
    global _events
    # Events get the real stdout; anything else written to stdout (libraries, C code) goes to stderr.
    _events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def stop(signum, frame):
        raise Stopped(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    t0 = time.time()
    try:
        if len(argv) != 2:
            raise BadInput("usage: selfdev_dpo.py SPEC.json")
        spec = load_spec(argv[1])
        seconds = run(spec, t0)
        emit("done", seconds=seconds["total"])
        return 0
    except BadInput as e:
        emit("error", errorClass="bad_input", message=str(e))
        return 2
    except Stopped as e:
        name = signal.Signals(e.signum).name
        emit("error", errorClass="cancelled", message=f"stopped by {name}")
        return 128 + e.signum
    except Exception as e:  # noqa: BLE001
        if is_oom(e):
            emit("error", errorClass="out_of_memory", message=f"out of memory: {e}")
            return 2
        import traceback

        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
