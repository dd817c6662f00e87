"""Training: TRL's DPOTrainer with a PEFT LoRA adapter on the generator, its reference the
generator itself (adapter off), measured on the held-out pairs before and after."""
import contextlib
import json
import math
import os
import shutil
import time
from pathlib import Path

from .checkpoints import load_optimizer, prepare_checkpoints, save_optimizer
from .events import _finite, emit
from .outputs import save_adapter, save_merged
from .spec import BadInput, _is_int, fingerprint, read_pairs
from .tokens import TRACE, encode_pair, trace_batch

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
