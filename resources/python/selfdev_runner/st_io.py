"""Memory-mapped safetensors reading and plain writing, with numpy only (no torch).

A safetensors file is an 8-byte little-endian header length, a JSON header that maps each
tensor name to its dtype, shape and byte range, then the raw little-endian data. Tensors are
returned as read-only views of a memory map, so nothing is read until it is used. numpy has no
bfloat16: BF16 tensors are exposed as uint16 and widened to float32 by `to_float32`.
"""
from __future__ import annotations

import json
import mmap
import os
import queue
import re
import struct
import threading
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

# dtype tag -> (numpy storage dtype, bytes per element)
DTYPES: Dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # raw bits; widened by to_float32
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
FLOAT_TAGS = ("F64", "F32", "F16", "BF16")
MAX_HEADER = 100 * 1024 * 1024


class FormatError(ValueError):
    """A file that is not a valid safetensors file."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: Tuple[int, ...]
    path: str
    start: int  # absolute byte offset in the file
    nbytes: int

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def read_header(path: str) -> Tuple[Dict[str, TensorInfo], Dict[str, str], int]:
    """Parses a file's header: tensors by name, the `__metadata__` map, and the data offset."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise FormatError(f"{path}: too short for a safetensors file")
        (n,) = struct.unpack("<Q", raw)
        if n <= 0 or n > MAX_HEADER:
            raise FormatError(f"{path}: header length {n} is not plausible")
        size = os.fstat(f.fileno()).st_size
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            raise FormatError(f"{path}: header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise FormatError(f"{path}: header is not a JSON object")
    base = 8 + n
    meta = header.pop("__metadata__", None) or {}
    tensors: Dict[str, TensorInfo] = {}
    for name, entry in header.items():
        try:
            tag = entry["dtype"]
            shape = tuple(int(d) for d in entry["shape"])
            begin, end = (int(x) for x in entry["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{path}: bad header entry for {name!r}") from None
        if tag not in DTYPES:
            raise FormatError(f"{path}: {name}: dtype {tag} is not supported")
        info = TensorInfo(name, tag, shape, path, base + begin, end - begin)
        if info.numel * DTYPES[tag].itemsize != info.nbytes or begin < 0 or base + end > size:
            raise FormatError(f"{path}: {name}: byte range does not match dtype and shape")
        tensors[name] = info
    return tensors, meta, base


class ModelFiles:
    """All safetensors files of an HF model folder (one file or shards), memory-mapped on use."""

    def __init__(self, folder: str):
        self.folder = folder
        files = sorted(p for p in os.listdir(folder) if p.endswith(".safetensors"))
        if not files:
            raise FormatError(f"{folder}: no *.safetensors file")
        self.tensors: Dict[str, TensorInfo] = {}
        for p in files:
            tensors, _, _ = read_header(os.path.join(folder, p))
            for name, info in tensors.items():
                if name in self.tensors:
                    raise FormatError(f"{folder}: tensor {name} appears in two files")
                self.tensors[name] = info
        self._maps: Dict[str, mmap.mmap] = {}

    @property
    def paths(self) -> List[str]:
        return sorted({t.path for t in self.tensors.values()})

    def open_all(self) -> None:
        """Maps every file now (the worker does this before its sandbox closes file access)."""
        for p in self.paths:
            self._map(p)

    def _map(self, path: str) -> mmap.mmap:
        m = self._maps.get(path)
        if m is None:
            with open(path, "rb") as f:
                m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self._maps[path] = m
        return m

    def raw(self, name: str) -> np.ndarray:
        """The stored tensor as a read-only view (uint16 bits for BF16)."""
        t = self.tensors[name]
        arr = np.frombuffer(self._map(t.path), dtype=DTYPES[t.dtype], count=t.numel, offset=t.start)
        return arr.reshape(t.shape)

    def float32(self, name: str) -> np.ndarray:
        return to_float32(self.raw(name), self.tensors[name].dtype)

    def close(self) -> None:
        for m in self._maps.values():
            try:
                m.close()
            except BufferError:  # a view is still alive; the map goes with the process
                pass
        self._maps.clear()


def to_float32(arr: np.ndarray, tag: str) -> np.ndarray:
    if tag == "BF16":
        return (arr.astype(np.uint32) << 16).view(np.float32)
    if tag == "F32":
        return arr
    return arr.astype(np.float32)


def bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, rounding to nearest even (NaN stays NaN)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = ((u + (((u >> 16) & 1) + 0x7FFF)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        rounded[nan] = 0x7FC0
    return rounded


def from_float32(x: np.ndarray, tag: str) -> np.ndarray:
    """float32 values in the storage dtype of `tag`."""
    if tag == "BF16":
        return bf16_bits(x)
    return x.astype(DTYPES[tag], copy=False)


class _Hasher:
    """Feeds a hashlib object in a thread of its own (hashlib releases the GIL), so hashing a
    large file overlaps with producing its next tensor. At most a few chunks wait."""

    def __init__(self, digest):
        self.digest = digest
        self.q: "queue.Queue" = queue.Queue(maxsize=3)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            b = self.q.get()
            if b is None:
                return
            self.digest.update(b)

    def add(self, b) -> None:
        self.q.put(b)

    def close(self) -> None:
        self.q.put(None)
        self.thread.join()


def select(names: Iterable[str], scope: Optional[str]) -> List[str]:
    """Names matching the scope regex (re.search), in file order."""
    if scope is None:
        return list(names)
    rx = re.compile(scope)
    return [n for n in names if rx.search(n)]


def write_file(path: str, items: List[Tuple[str, str, Tuple[int, ...], object]],
               metadata: Optional[Dict[str, str]] = None, digest=None) -> int:
    """Writes (name, dtype tag, shape, data) tensors; returns bytes written. `data` is an array
    in the storage dtype or a function returning one, called when that tensor is written, so a
    file can be produced one tensor at a time without holding them all in memory. `digest` (a
    hashlib object) is fed every byte written."""
    header: Dict[str, object] = {}
    offset = 0
    for name, tag, shape, _ in items:
        n = int(np.prod(shape, dtype=np.int64)) * DTYPES[tag].itemsize
        header[name] = {"dtype": tag, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # keep the data 8-byte aligned
    tmp = path + ".part"
    hasher = _Hasher(digest) if digest is not None else None

    def put(b) -> None:
        f.write(b)
        if hasher is not None:
            hasher.add(b)

    try:
        with open(tmp, "wb") as f:
            put(struct.pack("<Q", len(blob)))
            put(blob)
            for name, tag, shape, data in items:
                arr = np.ascontiguousarray(data() if callable(data) else data)
                want = int(np.prod(shape, dtype=np.int64)) * DTYPES[tag].itemsize
                if arr.nbytes != want or arr.dtype != DTYPES[tag]:
                    raise ValueError(f"{name}: {arr.dtype} {arr.nbytes} bytes for {tag} {shape}")
                put(memoryview(arr).cast("B"))
    finally:
        if hasher is not None:
            hasher.close()
    os.replace(tmp, path)
    return 8 + len(blob) + offset
