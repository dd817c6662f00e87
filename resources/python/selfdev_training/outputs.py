"""The trainer's products: the LoRA adapter and the merged weights (a plain model folder with the
base's config and tokenizer files), each written beside its place and renamed onto it."""
import json
import os
import shutil
from pathlib import Path

# Copied verbatim from the base into merged/, when present.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                   "added_tokens.json", "chat_template.jinja", "generation_config.json")
# Fields that define the architecture: merging an adapter must leave them as they were.
ARCHITECTURE_KEYS = ("architectures", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
                     "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings",
                     "rope_theta", "rope_scaling", "rms_norm_eps", "tie_word_embeddings", "hidden_act",
                     "attention_bias", "mlp_bias")


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
