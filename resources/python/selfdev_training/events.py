"""The trainer's stdout protocol: one JSON object a line, NaN and infinities as null."""
import json
import math
import os
import sys

_events = None  # the real stdout; everything else printed goes to stderr


def claim_stdout():
    """Events get the real stdout; anything else written to stdout (libraries, C code) goes to stderr."""
    global _events
    _events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr


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
