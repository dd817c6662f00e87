"""Shared set-up of the Python tests: everything runs offline against the repository's files."""
import os
from pathlib import Path

# No hub access: Hugging Face libraries must read only the local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo"
