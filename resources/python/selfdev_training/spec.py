"""Checking the trainer's input (spec, hyperparameters, base folder, preference rows) before the
heavy stack is imported, so that bad input fails in well under a second with a clear sentence."""
import hashlib
import json
import math
from pathlib import Path

# TRL's losses that need no parameter beyond beta (exo_pair needs label smoothing).
LOSS_TYPES = ("sigmoid", "hinge", "ipo", "robust", "nca_pair", "bco_pair", "sppo_hard", "aot",
              "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm")
HYPERPARAMETERS = ("beta", "learningRate", "epochs", "batchSize", "gradientAccumulationSteps",
                   "loraRank", "loraAlpha", "loraDropout", "targetModules", "maxLength", "lossType",
                   "warmupRatio", "seed", "checkpointSteps")
BASE_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")


class BadInput(Exception):
    """The spec, the data or the base folder is unusable: the message says which and why."""



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
