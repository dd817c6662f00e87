"""The algorithm contract, checked on the syntax tree before anything runs.

Contract (DESIGN.md): a module defining ``merge(task_vectors, name)`` that returns the merged
delta of one parameter. Helper functions and module constants are allowed; imports are limited
to an allowlist. The same lists are enforced again at run time by `sandbox` (import guard,
guarded getattr, audit hook), because a syntax-tree check alone is easy to get around.
"""
from __future__ import annotations

import ast
from typing import Dict, List, Optional, Tuple

# --- failure classes -------------------------------------------------------------------------

#: One line per failure class, for the UI. `setup` is not the algorithm's fault (bad job,
#: missing model file, broken interpreter); every other class is.
MESSAGES: Dict[str, str] = {
    "syntax": "The algorithm is not valid Python.",
    "missing_function": "The algorithm does not define merge(task_vectors, name).",
    "bad_signature": "merge must accept exactly two arguments: (task_vectors, name).",
    "exception": "merge raised an exception.",
    "timeout": "The algorithm ran past its time limit and was stopped.",
    "memory": "The algorithm used more memory than allowed and was stopped.",
    "non_finite": "merge returned NaN or infinite values.",
    "shape_mismatch": "merge returned a tensor whose shape differs from the task vectors'.",
    "dtype": "merge returned something other than a floating-point tensor of the run's library.",
    "forbidden": "The algorithm tried a forbidden operation (import, file, network or process access).",
    "no_op": "The algorithm does nothing useful: it returns zeros, or one task vector unchanged.",
    "setup": "The runner could not prepare the job (models, scope, interpreter); not the algorithm's fault.",
}
FAILURE_CLASSES: Tuple[str, ...] = tuple(MESSAGES)

# --- allowlists and blocklists ---------------------------------------------------------------

#: Top-level modules an algorithm may import.
ALLOWED_MODULES = frozenset({
    "numpy", "torch", "math", "functools", "itertools", "random", "time",
    # pure computation, no I/O:
    "typing", "collections", "heapq", "bisect", "statistics", "cmath", "numbers", "dataclasses",
    # the helper library of the algorithm contract (resources/python/selfdev_merge.py):
    "selfdev_merge",
})
#: Submodules of allowed packages that reach files, processes, native code or the network.
FORBIDDEN_SUBMODULES = frozenset({
    "numpy.ctypeslib", "numpy.f2py", "numpy.distutils", "numpy.testing", "numpy.lib.format",
    "numpy.lib.npyio", "numpy.lib.utils", "numpy.lib._datasource",
    "torch.hub", "torch.utils", "torch.multiprocessing", "torch.distributed", "torch.package",
    "torch.serialization", "torch.jit", "torch.library",
    "torch.ops", "torch.compiler", "torch._dynamo", "torch._inductor", "torch.onnx", "torch.export",
})
#: Builtins an algorithm may not name (they are also missing from its builtins at run time).
FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars", "setattr",
    "delattr", "input", "breakpoint", "exit", "quit", "help", "memoryview", "copyright",
    "credits", "license", "__builtins__", "__loader__", "__spec__", "__file__", "SystemExit",
    "KeyboardInterrupt", "GeneratorExit",
})
#: Attribute names that lead out of the sandbox (modules kept as attributes of numpy/torch,
#: file I/O, frames and code objects). Any attribute starting with "__" is refused as well.
FORBIDDEN_ATTRIBUTES = frozenset({
    "os", "sys", "subprocess", "builtins", "importlib", "ctypes", "ctypeslib", "inspect", "gc",
    "socket", "shutil", "pathlib", "io", "environ", "getenv", "putenv", "system", "popen",
    "spawn", "fork", "execv", "execve", "kill", "signal", "threading", "multiprocessing",
    "f_globals", "f_locals", "f_back", "f_builtins", "f_code", "tb_frame", "tb_next", "gi_frame",
    "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "co_code", "func_globals",
    "load", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile",
    "tofile", "memmap", "open_memmap", "DataSource", "from_file", "load_library", "hub",
    "cpp_extension", "f2py", "distutils", "testing", "distributed", "ops", "_C", "_ops",
    "serialization", "jit", "library", "setrecursionlimit", "compile",
    "set_per_process_memory_fraction",
})


def forbidden_attribute(attr: str) -> bool:
    """Dunders, the names above, and every private name: modules keep their imports under private
    aliases (collections._sys, random._os), so `_x` leads out as easily as `os`."""
    return attr.startswith("_") or attr in FORBIDDEN_ATTRIBUTES


def module_allowed(module: str, private_ok: bool = False) -> bool:
    """Every part of a dotted name is checked, not only the first: numpy._posixsubprocess is a
    private extension module inside an allowed package. `private_ok` lets private parts through
    (the run-time guard, for modules the libraries have already loaded)."""
    parts = module.split(".")
    if parts[0] not in ALLOWED_MODULES or any(not p or (p.startswith("_") and not private_ok) for p in parts):
        return False
    return not any(module == m or module.startswith(m + ".") for m in FORBIDDEN_SUBMODULES)


# --- the static check ------------------------------------------------------------------------

class ContractError(Exception):
    def __init__(self, error_class: str, detail: str, line: Optional[int] = None):
        super().__init__(detail)
        self.error_class = error_class
        self.detail = detail
        self.line = line


def _check_signature(fn: ast.AST) -> Optional[str]:
    if isinstance(fn, ast.AsyncFunctionDef):
        return "merge is async; it must be a plain function"
    if isinstance(fn, ast.Lambda) or isinstance(fn, ast.FunctionDef):
        a = fn.args
        positional = len(a.posonlyargs) + len(a.args)
        required = positional - len(a.defaults)
        required_kw = [k.arg for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is None]
        if required_kw:
            return f"merge has required keyword-only arguments ({', '.join(required_kw)})"
        if required > 2:
            return f"merge requires {required} arguments"
        if positional < 2 and a.vararg is None:
            return f"merge takes {positional} positional argument(s)"
    return None


def check_source(source: str, filename: str = "<algorithm>", guards: bool = True) -> ast.Module:
    """Raises ContractError(syntax | forbidden | missing_function | bad_signature) or returns
    the parsed module. `guards=False` checks the contract only (tests of the kernel sandbox on
    its own, as if the Python-level guards had been escaped)."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as e:
        raise ContractError("syntax", f"{e.msg} (line {e.lineno})", e.lineno) from None
    except (ValueError, MemoryError, RecursionError) as e:  # null bytes, absurd nesting
        raise ContractError("syntax", f"cannot be parsed: {type(e).__name__}") from None
    try:
        # Some errors only the compiler sees: `return` outside a function, a repeated argument
        # name, `nonlocal` at module level.
        compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as e:
        raise ContractError("syntax", f"{e.msg} (line {e.lineno})", e.lineno) from None
    except (ValueError, MemoryError, RecursionError) as e:
        raise ContractError("syntax", f"cannot be compiled: {type(e).__name__}") from None

    for node in (ast.walk(tree) if guards else ()):
        line = getattr(node, "lineno", None)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not module_allowed(alias.name):
                    raise ContractError("forbidden", f"import of {alias.name} is not allowed (line {line})", line)
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level or not module_allowed(mod):
                raise ContractError("forbidden", f"import from {'.' * node.level}{mod} is not allowed (line {line})", line)
            for alias in node.names:
                if alias.name == "*" or forbidden_attribute(alias.name) or not module_allowed(f"{mod}.{alias.name}"):
                    raise ContractError("forbidden", f"from {mod} import {alias.name} is not allowed (line {line})", line)
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES or (node.id.startswith("__") and node.id != "__name__"):
                raise ContractError("forbidden", f"use of {node.id} is not allowed (line {line})", line)
        elif isinstance(node, ast.Attribute):
            if forbidden_attribute(node.attr):
                raise ContractError("forbidden", f"access to .{node.attr} is not allowed (line {line})", line)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            pass
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # getattr(x, "__class__") and similar: refuse dunder strings outright.
            if node.value.startswith("__") and node.value.endswith("__") and len(node.value) > 4:
                raise ContractError("forbidden", f"the string {node.value!r} is not allowed (line {line})", line)

    merge_def: Optional[ast.AST] = None
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "merge":
            merge_def = stmt
        elif isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "merge" for t in stmt.targets):
            merge_def = stmt.value
    if merge_def is None:
        raise ContractError("missing_function", "no top-level merge(task_vectors, name) is defined")
    if isinstance(merge_def, (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.JoinedStr)):
        raise ContractError("missing_function", "merge is assigned a value, not a function", getattr(merge_def, "lineno", None))
    problem = _check_signature(merge_def)
    if problem:
        raise ContractError("bad_signature", problem, getattr(merge_def, "lineno", None))
    return tree


# --- coefficient grids -----------------------------------------------------------------------

def module_constants(source: str) -> Dict[str, object]:
    """Top-level `NAME = <literal>` assignments (upper-case names), e.g. LAMBDA and GRID."""
    out: Dict[str, object] = {}
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            if name.isupper():
                try:
                    out[name] = ast.literal_eval(stmt.value)
                except ValueError:
                    pass
    return out


def substitute_constants(source: str, values: Dict[str, object]) -> str:
    """The source with top-level `NAME = <literal>` lines replaced by the given values.

    Only the assignment's own lines change, so line numbers, comments and the rest of the file
    stay as written. Unknown names are an error: a typo must not silently keep the default."""
    if not values:
        return source
    lines = source.splitlines(keepends=True)
    found: Dict[str, Tuple[int, int, int, int]] = {}
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            if stmt.targets[0].id in values:
                found[stmt.targets[0].id] = (stmt.lineno, stmt.col_offset, stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
    missing = sorted(set(values) - set(found))
    if missing:
        raise KeyError(f"no top-level constant named {', '.join(missing)}")
    for name, (l0, c0, l1, c1) in sorted(found.items(), key=lambda kv: -kv[1][0]):
        value = values[name]
        if not isinstance(value, (int, float, str, bool, type(None), list, tuple, dict)):
            raise TypeError(f"{name}: only literal values can be substituted")
        text = f"{name} = {value!r}"
        head = lines[l0 - 1][:c0]
        tail = lines[l1 - 1][c1:]
        lines[l0 - 1:l1] = [head + text + tail]
    return "".join(lines)


def grid_variants(source: str) -> List[Dict[str, object]]:
    """All combinations of the module's GRID constant ({NAME: [values...]})."""
    grid = module_constants(source).get("GRID") or {}
    if not isinstance(grid, dict):
        return [{}]
    combos: List[Dict[str, object]] = [{}]
    for name, options in grid.items():
        combos = [dict(c, **{name: v}) for c in combos for v in options]
    return combos
