"""A thin ctypes binding to libseccomp (libseccomp.so.2), the C library every seccomp user builds
filters with.

Why not a Python package: the official bindings (Debian's python3-seccomp) are built for the
distribution's own interpreter, not for the pyenv, conda or venv interpreter that runs the
runner, and the PyPI ctypes wrappers are unmaintained. This file calls the same C functions
(seccomp_init, seccomp_rule_add_array, seccomp_export_bpf, seccomp_load) and nothing else; a test
compares its exported programs byte for byte with the official bindings'.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno as _errno
import os
from typing import Optional, Sequence, Tuple

# Actions (seccomp.h / libseccomp's seccomp.h.in).
ALLOW = 0x7FFF0000
KILL_PROCESS = 0x80000000
KILL_THREAD = 0x00000000


def ERRNO(code: int) -> int:  # noqa: N802  (named like the C macro SCMP_ACT_ERRNO)
    return 0x00050000 | (code & 0x0000FFFF)


# Argument comparisons (enum scmp_compare).
NE, LT, LE, EQ, GE, GT, MASKED_EQ = 1, 2, 3, 4, 5, 6, 7
# Filter attributes (enum scmp_filter_attr).
_ATTR_CTL_NNP = 3
_ATTR_CTL_TSYNC = 4

#: (argument index, operator, datum_a[, datum_b]) as in libseccomp's SCMP_A0..A5 macros: for
#: MASKED_EQ, datum_a is the mask and datum_b the value.
Cmp = Tuple[int, ...]


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


class SeccompError(OSError):
    """libseccomp is missing, or it refused a filter."""


_lib: Optional[ctypes.CDLL] = None


def library() -> ctypes.CDLL:
    """libseccomp.so.2, loaded once; SeccompError when the system has none."""
    global _lib
    if _lib is None:
        name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
        try:
            lib = ctypes.CDLL(name, use_errno=True)
        except OSError as e:
            raise SeccompError(_errno.ENOENT, f"libseccomp is not installed ({e}); on Debian/Ubuntu: apt-get install libseccomp2") from None
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
        _lib = lib
    return _lib


def _check(rc: int, what: str) -> None:
    if rc < 0:  # libseccomp returns -errno
        raise SeccompError(-rc, f"libseccomp: {what}: {os.strerror(-rc)}")


def syscall_number(name: str) -> Optional[int]:
    """The native number of a system call, or None where this architecture has no such call."""
    nr = library().seccomp_syscall_resolve_name(name.encode())
    return None if nr < 0 else nr


class Filter:
    """One seccomp filter: a default action plus rules, then exported (BPF bytes) or loaded."""

    def __init__(self, default_action: int):
        self._lib = library()
        self._ctx = self._lib.seccomp_init(default_action)
        if not self._ctx:
            raise SeccompError(_errno.EINVAL, "libseccomp: seccomp_init failed")

    def add_rule(self, action: int, syscall: str, *cmps: Cmp) -> bool:
        """Adds a rule; returns False (and adds nothing) where the call does not exist here."""
        nr = syscall_number(syscall)
        if nr is None:
            return False
        arr = (_ArgCmp * max(1, len(cmps)))()
        for i, c in enumerate(cmps):
            arr[i] = _ArgCmp(c[0], c[1], c[2], c[3] if len(c) > 3 else 0)
        _check(self._lib.seccomp_rule_add_array(self._ctx, action, nr, len(cmps), arr), f"rule for {syscall}")
        return True

    def add_rules(self, action: int, syscalls: Sequence[str]) -> None:
        for s in syscalls:
            self.add_rule(action, s)

    def export_bpf(self) -> bytes:
        """The compiled classic-BPF program (struct sock_filter[]), as bwrap's --add-seccomp-fd reads it."""
        fd = os.memfd_create("selfdev-seccomp", 0)
        try:
            _check(self._lib.seccomp_export_bpf(self._ctx, fd), "export")
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while True:
                b = os.read(fd, 65536)
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def load(self, all_threads: bool = True) -> None:
        """Installs the filter on this process (every thread when `all_threads`: BLAS and torch
        thread pools exist before the algorithm runs). Sets no_new_privs first."""
        _check(self._lib.seccomp_attr_set(self._ctx, _ATTR_CTL_NNP, 1), "no_new_privs")
        if all_threads:
            _check(self._lib.seccomp_attr_set(self._ctx, _ATTR_CTL_TSYNC, 1), "thread sync")
        _check(self._lib.seccomp_load(self._ctx), "load")

    def release(self) -> None:
        if self._ctx:
            self._lib.seccomp_release(self._ctx)
            self._ctx = None

    def __enter__(self) -> "Filter":
        return self

    def __exit__(self, *_exc) -> None:
        self.release()
