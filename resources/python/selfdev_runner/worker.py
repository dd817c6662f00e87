"""The untrusted side: runs one algorithm over the merge scope inside the sandbox.

Started by `supervisor` as its own process (own process group, scrubbed environment, network
namespace when available). Reads a JSON job on stdin, maps the model files and the delta file,
imports the tensor library, sets its resource limits, installs the audit hook, and only then
loads the algorithm. Writes one JSON report to the file descriptor the job names, then exits
with os._exit (no interpreter shutdown that untrusted code could hook into).

Nothing this process reports is trusted for correctness: the supervisor re-reads the deltas
from the shared file and checks them itself.
"""
from __future__ import annotations

import hashlib
import inspect  # noqa: F401  (imported before the sandbox closes imports)
import json
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

from . import checks, sandbox, st_io

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
    if violations or isinstance(exc, sandbox.SandboxViolation):
        return "forbidden"
    if isinstance(exc, (SystemExit, KeyboardInterrupt, GeneratorExit)):
        return "forbidden"
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, OSError) and exc.errno == 27:  # EFBIG: past RLIMIT_FSIZE in scratch
        return "forbidden"
    text = str(exc)
    if isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text.lower()):
        return "memory"
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
    if lib == "torch":
        if not isinstance(result, torch.Tensor):
            raise Failure("dtype", f"merge returned {type(result).__name__}, expected a torch tensor")
        if not result.is_floating_point():
            raise Failure("dtype", f"merge returned a {result.dtype} tensor, expected floating point")
        if tuple(result.shape) != tuple(shape):
            raise Failure("shape_mismatch", f"merge returned shape {tuple(result.shape)}, expected {tuple(shape)}")
        return result.detach().to("cpu", torch.float32).contiguous().numpy()
    if not isinstance(result, np.ndarray):
        raise Failure("dtype", f"merge returned {type(result).__name__}, expected a numpy array")
    if result.dtype.kind != "f":
        raise Failure("dtype", f"merge returned a {result.dtype} array, expected floating point")
    if result.shape != tuple(shape):
        raise Failure("shape_mismatch", f"merge returned shape {result.shape}, expected {tuple(shape)}")
    return result


def run(job: dict) -> dict:
    t0 = time.perf_counter()
    timings = {}
    lib = job.get("tensorLibrary", "numpy")
    device = job.get("device", "cpu")
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
    timings["importMs"] = (time.perf_counter() - t0) * 1000

    seed_files = st_io.ModelFiles(job["seedFolder"])
    cands = [st_io.ModelFiles(f) for f in job["candidateFolders"]]
    for m in [seed_files] + cands:
        m.open_all()
    delta_fd = os.open(job["deltaFile"], os.O_RDWR)
    delta_map = mmap.mmap(delta_fd, 0) if os.fstat(delta_fd).st_size else None
    params = job["params"]
    report_fd = int(job["reportFd"])

    out = sandbox.CappedText(int(job.get("limits", {}).get("outputChars", 16384)))
    violations: list = []
    lines = job["source"].splitlines(keepends=True)
    linecache.cache[ALGO_FILE] = (len(job["source"]), None, lines, ALGO_FILE)
    code = compile(job["source"], ALGO_FILE, "exec")
    builtins_ = sandbox.safe_builtins(violations, out)
    namespace = {"__name__": "algorithm", "__builtins__": builtins_}
    warnings.simplefilter("ignore")
    sys.setrecursionlimit(1000)
    applied = set_limits(job.get("limits", {}), device == "cuda")
    sys.stdout = out
    sys.stderr = out
    sandbox.install_audit_hook(job["scratch"], job.get("readRoots", []), violations)
    os.write(report_fd, b"READY\n")

    done = 0
    merge_s = 0.0
    tau_s = 0.0
    try:
        # Untrusted code from here on.
        t1 = time.perf_counter()
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
                   "output": out.text(), "limits": applied, "device": device,
                   "torchLoaded": "torch" in sys.modules})
    return status, report_fd


def main() -> None:
    try:
        job = json.loads(sys.stdin.read())
    except ValueError as e:
        sys.__stderr__.write(f"worker: bad job: {e}\n")
        os._exit(3)
    report, fd = run(job)
    data = json.dumps(report, default=str).encode()
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os._exit(0)
