"""The untrusted side: runs one algorithm over the merge scope inside the sandbox.

Started by `supervisor`, with kernel isolation inside a bubblewrap sandbox (isolation.py), or,
where the user opted in to unisolated runs, as a plain child process. Reads a JSON job on stdin,
imports the tensor library, maps the model files and the delta buffer (an fd the supervisor
opened), closes every other descriptor, sets its resource limits, and then, in this order: drops
to the sandbox uid (as root), installs the algorithm's seccomp filter, installs the Python-level
guards (audit hook, restricted builtins), writes READY on the report fd, and only then loads the
algorithm. Everything after READY is the algorithm's responsibility.

The report fd carries lines: `READY {facts}`, `REFUSED <what>` for each refusal of the Python
guards (written at once, so catching the refusal does not hide it) and a final `REPORT {json}`.
None of it is trusted for correctness: the supervisor re-reads the deltas itself, classifies
kills from what the kernel tells it, and treats the report as advice.
"""
from __future__ import annotations

import hashlib
import inspect  # noqa: F401  (imported before the sandbox closes imports)
import json
import importlib
import linecache
import math
import mmap
import os
import random
import resource
import sys
import time
import traceback
import warnings

import numpy as np

from . import checks, isolation, policy, sandbox, seccomp, st_io

ALGO_FILE = "<algorithm>"


def param_seed(run_seed: int, name: str) -> int:
    digest = hashlib.sha256(f"{run_seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def vm_size_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def set_limits(limits: dict, cuda: bool) -> dict:
    applied = {}
    mem_mb = limits.get("memoryMB")
    if mem_mb and not cuda:
        # The limit is on top of what the interpreter, the libraries and the model maps
        # already take, so it measures what the algorithm itself allocates.
        cap = vm_size_bytes() + int(mem_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        applied["addressSpaceMB"] = cap // (1024 * 1024)
    cpu = limits.get("cpuSeconds")
    if cpu:
        used = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(math.ceil(used.ru_utime + used.ru_stime + float(cpu)))
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 2))
        applied["cpuSeconds"] = soft
    fsize = int(limits.get("fileMB", 64)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    applied["fileMB"] = fsize // (1024 * 1024)
    return applied


def classify(exc: BaseException, violations: list) -> str:
    """The class of an exception, from its type alone (a message can say anything)."""
    if violations or isinstance(exc, sandbox.SandboxViolation):
        return "forbidden"
    if isinstance(exc, (SystemExit, KeyboardInterrupt, GeneratorExit)):
        return "forbidden"
    if isinstance(exc, MemoryError):
        return "memory"
    torch = sys.modules.get("torch")
    oom = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    if isinstance(oom, type) and isinstance(exc, oom):
        return "memory"
    if isinstance(exc, OSError) and exc.errno in (27, 28):  # EFBIG, ENOSPC: past the file or scratch cap
        return "forbidden"
    return "exception"


def algorithm_traceback(exc: BaseException) -> str:
    """The traceback restricted to the algorithm's own frames."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == ALGO_FILE]
    lines = [f"  line {f.lineno}, in {f.name}: {(f.line or '').strip()}" for f in frames[-8:]]
    if len(frames) > 8:
        lines.insert(0, f"  ... {len(frames) - 8} earlier algorithm frames")
    head = f"{type(exc).__name__}: {str(exc)[:500]}"
    return "\n".join(lines + [head])


def describe(exc: BaseException) -> str:
    if isinstance(exc, (SystemExit, KeyboardInterrupt)):
        return "the algorithm tried to exit the interpreter"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == ALGO_FILE]
    where = f" (line {frames[-1].lineno}, in {frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {str(exc)[:300]}{where}"


class Failure(Exception):
    def __init__(self, error_class: str, detail: str, tb: str = ""):
        super().__init__(detail)
        self.error_class = error_class
        self.detail = detail
        self.tb = tb


def to_delta(result, shape, lib: str, torch):
    """The merge result as a float array of `shape`, or a Failure."""
    # Only the exact library type is read: a subclass can override .shape, .dtype and friends.
    if lib == "torch":
        if type(result) is not torch.Tensor:
            what = "a subclass of torch.Tensor" if isinstance(result, torch.Tensor) else type(result).__name__
            raise Failure("dtype", f"merge returned {what}, expected a plain torch tensor")
        if not result.is_floating_point():
            raise Failure("dtype", f"merge returned a {result.dtype} tensor, expected floating point")
        if tuple(result.shape) != tuple(shape):
            raise Failure("shape_mismatch", f"merge returned shape {tuple(result.shape)}, expected {tuple(shape)}")
        return result.detach().to("cpu", torch.float32).contiguous().numpy()
    if type(result) is not np.ndarray:
        if not isinstance(result, np.ndarray):
            raise Failure("dtype", f"merge returned {type(result).__name__}, expected a numpy array")
        # A subclass: look at its buffer through the base class, which no subclass can change.
        result = np.ndarray.view(result, np.ndarray)
    if result.dtype.kind != "f":
        raise Failure("dtype", f"merge returned a {result.dtype} array, expected floating point")
    if result.shape != tuple(shape):
        raise Failure("shape_mismatch", f"merge returned shape {result.shape}, expected {tuple(shape)}")
    return result


#: Standard-library modules of the allowlist, imported during set-up: a first import after the
#: guards are up would need file reads and code loading the guards refuse.
PRELOAD = ("math", "cmath", "functools", "itertools", "random", "time", "typing", "collections", "heapq",
           "bisect", "statistics", "numbers", "dataclasses", "selfdev_merge")


class Report:
    """The report fd: one line per event, written at once."""

    def __init__(self, fd: int):
        self.fd = fd

    def line(self, kind: str, payload: str = "") -> None:
        data = (kind + (" " + payload if payload else "") + "\n").encode("utf-8", "replace")
        view = memoryview(data)
        try:
            while view:
                n = os.write(self.fd, view)
                view = view[n:]
        except OSError:
            pass  # the supervisor is gone; PDEATHSIG follows


def close_other_fds(keep) -> None:
    """Closes every descriptor of a file, pipe or socket except `keep` and stdio: the delta
    buffer's, the model maps' (a map needs none) and anything inherited. Device nodes and
    anonymous inodes stay: the CUDA driver holds its /dev/nvidia* and event descriptors."""
    import stat

    keep = set(keep) | {0, 1, 2}
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd in keep:
            continue
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISDIR(mode):
            try:
                os.close(fd)
            except OSError:
                pass


def run(job: dict, report: Report, preloaded=None):
    """Runs the job's algorithm. `preloaded` (a zygote's child): the models already mapped and
    the task vectors already computed, inherited copy-on-write from the zygote."""
    t0 = time.perf_counter()
    timings = {}
    lib = job.get("tensorLibrary", "numpy")
    device = job.get("device", "cpu")
    kernel = job.get("isolation") == "kernel"
    torch = None
    if lib != "torch":
        device = "cpu"
    else:
        import torch  # noqa: F811

        torch.set_num_threads(max(1, int(job.get("threads", 1))))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda":
            torch.zeros(1, device="cuda")  # initialise CUDA before the sandbox closes files
            frac = job.get("limits", {}).get("gpuMemoryFraction")
            if frac:
                torch.cuda.set_per_process_memory_fraction(float(frac))
    for name in PRELOAD:
        importlib.import_module(name)
    timings["importMs"] = (time.perf_counter() - t0) * 1000

    if preloaded is not None:
        seed_files, cands, ready_taus = preloaded.seed, preloaded.cands, preloaded.taus
    else:
        seed_files = st_io.ModelFiles(job["seedFolder"])
        cands = [st_io.ModelFiles(f) for f in job["candidateFolders"]]
        ready_taus = {}
    for m in [seed_files] + cands:
        m.open_all()
    # The delta buffer is mapped, and its descriptor closed with every other one before the
    # algorithm runs (a map needs no descriptor, and writes to it are not capped by RLIMIT_FSIZE).
    delta_fd = int(job["deltaFd"])
    delta_map = mmap.mmap(delta_fd, 0) if os.fstat(delta_fd).st_size else None
    params = job["params"]
    close_other_fds([report.fd])

    out = sandbox.CappedText(int(job.get("limits", {}).get("outputChars", 16384)))
    violations: list = []
    lines = job["source"].splitlines(keepends=True)
    linecache.cache[ALGO_FILE] = (len(job["source"]), None, lines, ALGO_FILE)
    guards = job.get("pythonGuards", True) is not False
    builtins_ = sandbox.safe_builtins(violations, out) if guards else dict(vars(__import__("builtins")), print=sandbox.capped_print(out))
    namespace = {"__name__": "algorithm", "__builtins__": builtins_}
    warnings.simplefilter("ignore")
    sys.setrecursionlimit(1000)
    if kernel:
        seccomp.library()  # loaded before the limits and the guards
    applied = set_limits(job.get("limits", {}), device == "cuda")
    facts = {"pid": os.getpid(), "vmSizeMB": round(vm_size_bytes() / 2**20, 1), "limits": applied, "device": device}
    if kernel:
        isolation.drop_privileges()
        f = policy.algorithm_filter(os.getpid())
        f.load(all_threads=True)
        f.release()
        facts.update(uid=os.getuid(), seccomp=True)
    sys.stdout = out
    sys.stderr = out
    if guards:
        sandbox.install_audit_hook(job["scratch"], job.get("readRoots", []), violations,
                                   on_refusal=lambda what: report.line("REFUSED", what))
    report.line("READY", json.dumps(facts))

    done = 0
    merge_s = 0.0
    tau_s = 0.0
    try:
        # Untrusted code from here on (compiling it included).
        t1 = time.perf_counter()
        try:
            code = compile(job["source"], ALGO_FILE, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
            raise Failure("syntax", f"{type(e).__name__}: {e}") from None
        try:
            exec(code, namespace)
        except BaseException as e:  # noqa: BLE001
            raise Failure(classify(e, violations), describe(e), algorithm_traceback(e)) from None
        timings["loadMs"] = (time.perf_counter() - t1) * 1000
        fn = namespace.get("merge")
        if not callable(fn):
            raise Failure("missing_function", "merge is not defined as a function after loading the module")
        try:
            inspect.signature(fn).bind(None, None)
        except TypeError as e:
            raise Failure("bad_signature", f"merge cannot be called as merge(task_vectors, name): {e}") from None
        except ValueError:
            pass
        run_seed = int(job.get("randomSeed", 0))
        for p in params:
            name = p["name"]
            shape = tuple(p["shape"])
            ta = time.perf_counter()
            if name in ready_taus:
                # The zygote's arrays, copy-on-write: what the algorithm changes stays in this process.
                taus = list(ready_taus[name])
            else:
                base = seed_files.float32(name)
                taus = [c.float32(name) - base for c in cands]
            if torch is not None:
                taus = [torch.from_numpy(t).to(device) for t in taus]
            s = param_seed(run_seed, name)
            random.seed(s)
            np.random.seed(s % (1 << 32))
            if torch is not None:
                torch.manual_seed(s)
            tb = time.perf_counter()
            tau_s += tb - ta
            try:
                result = fn(taus, name)
                delta = to_delta(result, shape, lib, torch)
            except Failure as f:
                raise Failure(f.error_class, f"{name}: {f.detail}") from None
            except BaseException as e:  # noqa: BLE001
                raise Failure(classify(e, violations), f"{name}: {describe(e)}", algorithm_traceback(e)) from None
            merge_s += time.perf_counter() - tb
            numel = int(np.prod(shape, dtype=np.int64))
            dst = np.frombuffer(delta_map, dtype=np.float32, count=numel, offset=int(p["offset"])).reshape(shape)
            np.copyto(dst, delta, casting="unsafe")
            del taus, result, delta, dst
            report.line("DONE", str(done))  # the supervisor checks this parameter while merge runs on
            done += 1
        if violations:
            raise Failure("forbidden", f"the algorithm attempted {violations[0]} (and caught the refusal)")
        status = {"status": "ok"}
    except Failure as f:
        status = {"status": "failed", "errorClass": f.error_class, "detail": f.detail, "traceback": f.tb}
    except BaseException as e:  # noqa: BLE001  (a failure inside the worker's own code)
        status = {"status": "failed", "errorClass": classify(e, violations), "detail": describe(e),
                  "traceback": algorithm_traceback(e)}
    timings["mergeMs"] = merge_s * 1000
    timings["taskVectorsMs"] = tau_s * 1000
    timings["workerMs"] = (time.perf_counter() - t0) * 1000
    status.update({"paramsDone": done, "timings": timings, "violations": violations[:20],
                   "output": out.text(), "torchLoaded": "torch" in sys.modules})
    return status


def main() -> None:
    try:
        job = json.loads(sys.stdin.read())
        report = Report(int(job["reportFd"]))
    except (ValueError, KeyError, TypeError) as e:
        sys.__stderr__.write(f"worker: bad job: {e}\n")
        os._exit(3)
    status = run(job, report)
    report.line("REPORT", json.dumps(status, default=str))
    os._exit(0)
