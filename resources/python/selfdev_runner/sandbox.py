"""In-process layers of the sandbox, installed by the worker after its own set-up.

* restricted builtins for the algorithm's module (no open/eval/exec/compile/globals/...),
  an import guard (allowlist) and a getattr that refuses the attributes `checks` refuses;
* an audit hook (PEP 578) that stays for the life of the process and blocks file access
  outside the scratch folder and Python's own library folders, sockets, subprocesses, forks,
  signals, ctypes and loading of process/network/FFI modules. Every refusal is recorded, so an
  algorithm that catches the exception still ends as `forbidden`.

These layers can be bypassed by a clever enough Python escape; the process boundary, the
resource limits, the network namespace and the scrubbed environment set up by the supervisor
do not depend on them (docs/SANDBOX.md).
"""
from __future__ import annotations

import builtins
import os
import sys
from typing import Callable, Dict, List, Optional, Sequence

from . import checks


class SandboxViolation(PermissionError):
    """Raised by the audit hook and the import guard."""


# Modules whose first import is refused once the hook is installed (already-imported modules
# are not re-imported, so numpy and torch keep working).
DENY_IMPORT = frozenset({
    "ctypes", "_ctypes", "subprocess", "_posixsubprocess", "socket", "_socket", "ssl", "_ssl",
    "multiprocessing", "_multiprocessing", "asyncio", "pty", "urllib", "http", "ftplib",
    "smtplib", "telnetlib", "webbrowser", "shutil", "tempfile", "pickle", "_pickle", "marshal",
    "requests", "httpx", "urllib3", "mmap", "fcntl", "resource", "signal", "threading",
    "_thread", "concurrent", "importlib", "zipimport", "code", "codeop", "pdb", "inspect", "gc",
    "sqlite3", "_sqlite3", "dbm", "shelve", "glob", "pathlib",
})
# Audit events that are refused outright (prefix match on the part before the first dot, or
# the whole name).
DENY_EVENTS = (
    "socket.", "subprocess.", "ctypes.", "shutil.", "pty.", "urllib.", "http.", "ftplib.",
    "smtplib.", "telnetlib.", "webbrowser.", "sqlite3.", "winreg.", "msvcrt.", "_winapi.",
    "resource.", "syslog.", "fcntl.", "mmap.", "signal.", "cpython.run_",
    "sys.addaudithook", "sys.settrace", "sys.setprofile", "sys._current_frames",
    "sys.remote_exec", "sys.monitoring", "os.", "glob.", "tempfile.", "pickle.", "marshal.dump",
)
# os events that are allowed (with a path check for directory listings).
ALLOW_OS_EVENTS = frozenset({"os.listdir", "os.scandir"})


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def install_audit_hook(scratch: str, read_roots: Sequence[str], violations: List[str],
                       on_refusal: Optional[Callable[[str], None]] = None) -> None:
    """Installs the hook. It cannot be removed; it applies to the whole process. `on_refusal`
    reports each refusal outside the process at once (the supervisor's report pipe), so code
    that empties `violations` afterwards hides nothing."""
    realpath = os.path.realpath
    fsdecode = os.fsdecode
    scratch_root = realpath(scratch)
    readable = tuple(sorted({realpath(r) for r in read_roots if r} | {scratch_root}))
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    record = violations.append
    deny_events = DENY_EVENTS
    allow_os = ALLOW_OS_EVENTS
    deny_import = DENY_IMPORT

    tell = on_refusal

    def refuse(what: str) -> None:
        if len(violations) < 100:
            record(what)
        if tell is not None:
            tell(what)
        raise SandboxViolation(f"sandbox: {what} is not allowed")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int):
                refuse("opening a file descriptor")
            p = realpath(fsdecode(path))
            writing = bool((flags or 0) & write_flags) or (isinstance(mode, str) and any(c in mode for c in "wax+"))
            if writing:
                if not _under(p, (scratch_root,)):
                    refuse(f"writing {p}")
            elif not _under(p, readable):
                refuse(f"reading {p}")
            return
        if event == "import":
            top = str(args[0]).split(".")[0]
            if top in deny_import:
                refuse(f"importing {args[0]}")
            return
        if event in allow_os:
            path = args[0] if args else "."
            p = realpath(fsdecode(path if path is not None else "."))
            if not _under(p, readable):
                refuse(f"listing {p}")
            return
        if event.startswith(deny_events) or event in deny_events:
            refuse(f"{event}")

    sys.addaudithook(hook)


def guarded_import(violations: List[str]) -> Callable:
    real_import = builtins.__import__

    loaded = sys.modules

    def _import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        # The algorithm's own import statements were checked on the syntax tree; what reaches
        # this guard besides them is C code of the libraries importing in the algorithm's frame
        # (numpy's lazy `numpy.core._methods`), which may look up a module already loaded.
        known = not level and isinstance(name, str) and name in loaded and checks.module_allowed(name, private_ok=True)
        if not known and (level or not checks.module_allowed(name)):
            violations.append(f"importing {name}")
            raise SandboxViolation(f"sandbox: import of {name} is not allowed")
        for item in fromlist or ():
            if known and item.startswith("__") and item.endswith("__"):
                continue  # C-level imports ask for ['__doc__']
            if checks.forbidden_attribute(item) or not checks.module_allowed(f"{name}.{item}", private_ok=known):
                violations.append(f"importing {name}.{item}")
                raise SandboxViolation(f"sandbox: import of {name}.{item} is not allowed")
        return real_import(name, globals, locals, fromlist, 0)

    return _import


def guarded_getattr(violations: List[str]) -> Callable:
    real_getattr = builtins.getattr
    missing = object()

    def _getattr(obj, name, default=missing):
        if not isinstance(name, str) or checks.forbidden_attribute(name):
            violations.append(f"getattr {name!r}")
            raise SandboxViolation(f"sandbox: attribute {name!r} is not allowed")
        if default is missing:
            return real_getattr(obj, name)
        return real_getattr(obj, name, default)

    return _getattr


def capped_print(out) -> Callable:
    def _print(*args, sep=" ", end="\n", file=None, flush=False):
        out.write(sep.join(str(a) for a in args) + end)

    return _print


def safe_builtins(violations: List[str], out) -> Dict[str, object]:
    """The builtins the algorithm's module sees."""
    names = {n: getattr(builtins, n) for n in dir(builtins) if not n.startswith("_")}
    for n in checks.FORBIDDEN_NAMES:
        names.pop(n, None)
    ga = guarded_getattr(violations)
    names["getattr"] = ga

    def _hasattr(obj, name):
        try:
            ga(obj, name)
        except AttributeError:
            return False
        return True

    names["hasattr"] = _hasattr

    names["print"] = capped_print(out)
    names["__import__"] = guarded_import(violations)
    names["__build_class__"] = builtins.__build_class__
    names["__name__"] = "builtins"
    return names


class CappedText:
    """A text sink that keeps the first `limit` characters and counts the rest."""

    def __init__(self, limit: int = 16384):
        self.limit = limit
        self.parts: List[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, s: str) -> int:
        s = str(s)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(s[:room])
            self.kept += min(room, len(s))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def text(self) -> str:
        t = "".join(self.parts)
        if self.dropped:
            t += f"\n[... {self.dropped} more characters dropped]"
        return t
