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

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from selfdev_training.events import claim_stdout, emit  # noqa: E402
from selfdev_training.spec import BadInput, load_spec  # noqa: E402
from selfdev_training.train import is_oom, run  # noqa: E402


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived (a BaseException so that no library handler swallows it)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum



def main(argv) -> int:
    claim_stdout()

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
