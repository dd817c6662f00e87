"""Checkpoints that resume: only complete ones count, another spec's are discarded, and the
optimizer and scheduler state are stored without pickle (transformers 4.57 will not torch.load
them under torch 2.5)."""
import json
import shutil
from pathlib import Path

from .events import emit

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
