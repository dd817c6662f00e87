"""The trusted side of the runner: checks, isolates, validates, writes.

`run_job(job)` takes the job (see `normalise_job`) and returns the result record. It never
imports or executes the algorithm itself: the algorithm runs in a worker process
(`sandbox_worker.py`) that writes its deltas into a shared scratch file; this process then
re-reads those bytes and checks them (finite, not a no-op), adds them to the seed in the seed's
dtype and writes the merge scope's tensors to a safetensors file.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

import numpy as np

from . import checks, st_io

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(os.path.dirname(HERE), "sandbox_worker.py")
#: The paper merged the MLP layers; this matches HF Llama/Mistral/Qwen2 MLP weights.
DEFAULT_SCOPE = r"\.mlp\.[^.]+\.weight$"
DEFAULT_LIMITS = {
    "wallSeconds": 300.0,
    "cpuSeconds": 300.0,
    "memoryMB": 4096,
    "gpuMemoryFraction": 0.5,
    "outputChars": 16384,
    "fileMB": 64,
}
CAPTURE_BYTES = 64 * 1024
SAMPLE = 64  # entries per parameter compared against each task vector for the no-op check

_netns_probe: Dict[str, Optional[List[str]]] = {}


def network_prefix() -> Optional[List[str]]:
    """The command prefix that gives the worker an empty network namespace here, or None.
    `unshare -n` works as root; `unshare -rn` (a user namespace) works for other users where
    the kernel allows unprivileged user namespaces."""
    if "p" not in _netns_probe:
        _netns_probe["p"] = None
        for prefix in (["unshare", "-n", "--"], ["unshare", "-r", "-n", "--"]):
            try:
                r = subprocess.run(prefix + ["true"], capture_output=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if r.returncode == 0:
                _netns_probe["p"] = prefix
                break
    return _netns_probe["p"]


def scrubbed_env(scratch: str, threads: int) -> Dict[str, str]:
    """An explicit, minimal environment: nothing of the caller's (tokens, keys) gets through."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "NUMEXPR_NUM_THREADS": str(threads),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "NO_PROXY": "*",
    }
    for key in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "SYSTEMROOT"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _pdeathsig() -> None:
    """In the child before exec: die with the supervisor, in a process group of its own."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001  (not Linux: the wall-clock kill still applies)
        pass


class _Reader(threading.Thread):
    """Drains a pipe, keeping at most `limit` bytes (the rest is counted and dropped)."""

    def __init__(self, fileobj, limit: int):
        super().__init__(daemon=True)
        self.f = fileobj
        self.limit = limit
        self.buf = bytearray()
        self.dropped = 0
        self.ready_at: Optional[float] = None
        self.start()

    def run(self) -> None:
        while True:
            try:
                chunk = self.f.read1(65536) if hasattr(self.f, "read1") else self.f.read(65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            if self.ready_at is None:
                self.ready_at = time.perf_counter()
            room = self.limit - len(self.buf)
            if room > 0:
                self.buf += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        t = self.buf.decode("utf-8", "replace")
        if self.dropped:
            t += f"\n[... {self.dropped} more bytes dropped]"
        return t


def normalise_job(job: dict) -> dict:
    j = dict(job)
    if "source" not in j:
        path = j.get("algorithmFile")
        if not path:
            raise ValueError("the job names neither source nor algorithmFile")
        with open(path, encoding="utf-8", errors="replace") as f:
            j["source"] = f.read()
    for key in ("seedModel", "candidates", "scratch"):
        if not j.get(key):
            raise ValueError(f"the job has no {key}")
    j["seedModel"] = os.path.abspath(j["seedModel"])
    j["candidates"] = [os.path.abspath(c) for c in j["candidates"]]
    j["scratch"] = os.path.abspath(j["scratch"])
    j.setdefault("mergeScope", DEFAULT_SCOPE)
    j.setdefault("tensorLibrary", "numpy")
    if j["tensorLibrary"] not in ("numpy", "torch"):
        raise ValueError(f"tensorLibrary must be numpy or torch, not {j['tensorLibrary']!r}")
    j.setdefault("device", "auto")
    j.setdefault("randomSeed", 0)
    j.setdefault("network", "auto")
    j.setdefault("threads", 1)
    j["limits"] = dict(DEFAULT_LIMITS, **(j.get("limits") or {}))
    j.setdefault("output", os.path.join(j["scratch"], "merged.safetensors"))
    return j


def _failed(error_class: str, detail: str, **extra) -> dict:
    r = {"status": "failed", "errorClass": error_class, "message": checks.MESSAGES[error_class], "detail": detail}
    r.update(extra)
    return r


def _read_roots() -> List[str]:
    """Folders the worker may read after the sandbox closes: Python's own installation (lazy
    imports of numpy/torch submodules) and the runner's code. Never the caller's sys.path, which
    can hold the current directory or a test folder."""
    import site
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(HERE)}
    paths = sysconfig.get_paths()
    roots.update(paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths)
    try:
        roots.update(site.getsitepackages())
    except AttributeError:  # old virtualenv
        pass
    return sorted(os.path.abspath(r) for r in roots if r and os.path.isdir(r))


def run_job(job: dict) -> dict:
    t0 = time.perf_counter()
    timings: Dict[str, float] = {}
    try:
        j = normalise_job(job)
    except (ValueError, OSError) as e:
        return _failed("setup", str(e))
    source = j["source"]
    result_base = {"algorithmSha256": hashlib.sha256(source.encode()).hexdigest()}

    # 1. Contract, on the syntax tree.
    try:
        if j.get("constants"):
            source = checks.substitute_constants(source, j["constants"])
        checks.check_source(source)
    except checks.ContractError as e:
        return _failed(e.error_class, e.detail, line=e.line, **result_base)
    except (KeyError, TypeError, SyntaxError) as e:
        return _failed("setup", f"constants could not be substituted: {e}", **result_base)
    timings["checkMs"] = (time.perf_counter() - t0) * 1000

    # 2. Models and scope.
    try:
        seed = st_io.ModelFiles(j["seedModel"])
        cands = [st_io.ModelFiles(c) for c in j["candidates"]]
        names = st_io.select(seed.tensors, j["mergeScope"])
        if not names:
            raise ValueError(f"no parameter of the seed matches the merge scope {j['mergeScope']!r}")
        if not cands:
            raise ValueError("no candidate models")
        for name in names:
            s = seed.tensors[name]
            if s.dtype not in st_io.FLOAT_TAGS:
                raise ValueError(f"{name} is {s.dtype} in the seed, not floating point")
            for c in cands:
                t = c.tensors.get(name)
                if t is None:
                    raise ValueError(f"{c.folder} has no tensor {name}")
                if t.shape != s.shape or t.dtype not in st_io.FLOAT_TAGS:
                    raise ValueError(f"{c.folder}: {name} is {t.dtype} {t.shape}, the seed's is {s.dtype} {s.shape}")
        os.makedirs(j["scratch"], exist_ok=True)
    except (OSError, ValueError, st_io.FormatError) as e:
        return _failed("setup", str(e), **result_base)

    params = []
    offset = 0
    for name in names:
        info = seed.tensors[name]
        params.append({"name": name, "shape": list(info.shape), "offset": offset})
        offset += info.numel * 4
    delta_path = os.path.join(j["scratch"], "delta.f32")
    for p in (delta_path, j["output"]):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    with open(delta_path, "wb") as f:
        f.truncate(offset)
    tau_mb = offset * len(cands) / 1e6

    # 3. The worker.
    worker = _run_worker(j, source, params, delta_path)
    timings.update(worker.pop("timings", {}))
    timings["workerWallMs"] = worker.pop("wallMs")
    sandbox_info = worker.pop("sandbox")
    common = dict(result_base, sandbox=sandbox_info, peakMemoryMB=worker.pop("peakMemoryMB"),
                  output=worker.pop("output", ""), taskVectorMB=round(tau_mb, 3), parameters=len(names))
    if worker.get("status") != "ok":
        try:
            os.unlink(delta_path)
        except OSError:
            pass
        timings["totalMs"] = (time.perf_counter() - t0) * 1000
        return _failed(worker["errorClass"], worker.get("detail", ""), traceback=worker.get("traceback", ""),
                       timings=timings, **common)

    # 4. Validate and write, in this (trusted) process.
    tv = time.perf_counter()
    try:
        outcome = _validate_and_write(j, seed, cands, params, delta_path)
    finally:
        try:
            os.unlink(delta_path)
        except OSError:
            pass
    timings["validateWriteMs"] = (time.perf_counter() - tv) * 1000
    timings["totalMs"] = (time.perf_counter() - t0) * 1000
    common["throughputMBs"] = round(tau_mb / max(1e-9, timings["totalMs"] / 1000), 2)
    if "errorClass" in outcome:
        return _failed(outcome["errorClass"], outcome["detail"], timings=timings,
                       deltaStats=outcome.get("deltaStats"), **common)
    return dict(status="ok", mergedFile=j["output"], timings=timings, deltaStats=outcome["deltaStats"], **common)


def _run_worker(j: dict, source: str, params: list, delta_path: str) -> dict:
    limits = j["limits"]
    prefix = None
    if j["network"] in ("auto", "namespace"):
        prefix = network_prefix()
        if prefix is None and j["network"] == "namespace":
            return {"status": "failed", "errorClass": "setup", "wallMs": 0, "peakMemoryMB": 0,
                    "detail": "a network namespace was required but unshare is not permitted here",
                    "sandbox": {"networkNamespace": False}}
    cmd = (prefix or []) + [sys.executable, "-s", "-B", WORKER]
    report_r, report_w = os.pipe()
    wjob = {
        "source": source, "seedFolder": j["seedModel"], "candidateFolders": j["candidates"],
        "params": params, "deltaFile": delta_path, "scratch": j["scratch"],
        "tensorLibrary": j["tensorLibrary"], "device": j["device"], "randomSeed": j["randomSeed"],
        "limits": limits, "readRoots": _read_roots(), "reportFd": report_w, "threads": j["threads"],
    }
    sandbox_info = {"networkNamespace": prefix is not None, "auditHook": True, "processGroup": True,
                    "scrubbedEnvironment": True, "tensorLibrary": j["tensorLibrary"]}
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=j["scratch"], env=scrubbed_env(j["scratch"], int(j["threads"])), pass_fds=(report_w,),
            start_new_session=True, preexec_fn=_pdeathsig, close_fds=True,
        )
    except OSError as e:
        os.close(report_r)
        os.close(report_w)
        return {"status": "failed", "errorClass": "setup", "detail": f"cannot start the worker: {e}",
                "wallMs": 0, "peakMemoryMB": 0, "sandbox": sandbox_info}
    os.close(report_w)
    pgid = proc.pid  # start_new_session: the worker leads its own group
    _current_worker["pgid"] = pgid
    report = _Reader(os.fdopen(report_r, "rb"), 8 * 1024 * 1024)
    out = _Reader(proc.stdout, CAPTURE_BYTES)
    err = _Reader(proc.stderr, CAPTURE_BYTES)
    try:
        proc.stdin.write(json.dumps(wjob).encode())
        proc.stdin.close()
    except OSError:
        pass

    deadline = start + float(limits["wallSeconds"])
    timed_out = False
    delay = 0.001
    while True:
        # Wait without reaping, so the group id cannot be reused before the group is killed.
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        except ChildProcessError:
            info = None
            break
        if info is not None:
            break
        if time.perf_counter() >= deadline:
            timed_out = True
            _killpg(pgid)
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
    _killpg(pgid)  # anything the algorithm left behind in its group
    try:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak_mb = usage.ru_maxrss / 1024.0
    except ChildProcessError:
        peak_mb = 0.0
    _current_worker.pop("pgid", None)
    wall_ms = (time.perf_counter() - start) * 1000
    for r in (report, out, err):
        r.join(timeout=2)
    code = proc.returncode
    raw = bytes(report.buf)
    ready = raw.startswith(b"READY\n")
    body = raw[6:] if ready else raw
    parsed = None
    if body:
        try:
            parsed = json.loads(body.decode("utf-8", "replace"))
        except ValueError:
            parsed = None
    sandbox_info["limits"] = (parsed or {}).pop("limits", {}) if parsed else {}
    if parsed and "device" in parsed:
        sandbox_info["device"] = parsed.pop("device")
        sandbox_info["torchLoaded"] = bool(parsed.pop("torchLoaded", False))
    base = {"wallMs": wall_ms, "peakMemoryMB": round(peak_mb, 1), "sandbox": sandbox_info}
    stderr_tail = err.text()[-4000:]
    captured = (parsed or {}).get("output", "")
    noise = out.text()
    if noise.strip():
        captured = (captured + "\n" + noise).strip()
    base["output"] = captured[: int(limits["outputChars"])]

    if timed_out:
        return dict(base, status="failed", errorClass="timeout",
                    detail=f"stopped after the wall-clock limit of {limits['wallSeconds']} s")
    if parsed is not None and code == 0:
        return dict(base, **parsed)
    if code is not None and code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU:
            return dict(base, status="failed", errorClass="timeout", detail=f"stopped at the CPU time limit of {limits['cpuSeconds']} s")
        if sig == signal.SIGXFSZ:
            return dict(base, status="failed", errorClass="forbidden", detail=f"wrote a file larger than {limits['fileMB']} MB")
        if sig == signal.SIGKILL and ready:
            return dict(base, status="failed", errorClass="memory", detail="the worker was killed (out of memory)")
        if ready:
            return dict(base, status="failed", errorClass="exception", detail=f"the worker crashed with {name}")
        return dict(base, status="failed", errorClass="setup", detail=f"the worker crashed with {name} before loading the algorithm: {stderr_tail[-500:]}")
    if not ready:
        return dict(base, status="failed", errorClass="setup", detail=f"the worker failed before loading the algorithm (exit {code}): {stderr_tail[-800:]}")
    if "MemoryError" in stderr_tail:
        return dict(base, status="failed", errorClass="memory", detail="MemoryError in the worker")
    return dict(base, status="failed", errorClass="exception", detail=f"the worker exited with code {code} without a report: {stderr_tail[-500:]}")


_current_worker: Dict[str, int] = {}


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError as e:
        if e.errno not in (errno.ESRCH, errno.EPERM):
            raise


def kill_current_worker() -> None:
    pgid = _current_worker.get("pgid")
    if pgid:
        _killpg(pgid)


def _validate_and_write(j: dict, seed: st_io.ModelFiles, cands: List[st_io.ModelFiles], params: list,
                        delta_path: str) -> dict:
    size = os.path.getsize(delta_path)
    fd = os.open(delta_path, os.O_RDONLY)
    try:
        import mmap

        dmap = mmap.mmap(fd, 0, access=mmap.ACCESS_READ) if size else None
    finally:
        os.close(fd)
    rng = np.random.default_rng(int(j["randomSeed"]) + 12345)
    n_cands = len(cands)
    same_as = [True] * n_cands  # delta == tau_j on every sampled entry so far
    stats = {"elements": 0, "absSum": 0.0, "sqSum": 0.0, "maxAbs": 0.0, "zeros": 0, "seedSq": 0.0}
    changed = False
    bad: Dict[str, str] = {}

    def delta_of(p) -> np.ndarray:
        numel = int(np.prod(p["shape"], dtype=np.int64))
        return np.frombuffer(dmap, dtype=np.float32, count=numel, offset=p["offset"]).reshape(p["shape"])

    def produce(p):
        nonlocal changed
        name = p["name"]
        info = seed.tensors[name]
        d = delta_of(p)
        flat = d.reshape(-1)
        a = np.abs(flat)
        abs_sum = float(a.sum(dtype=np.float64))
        sq = float(np.dot(flat, flat))
        if not (np.isfinite(abs_sum) and np.isfinite(sq)):
            finite = np.isfinite(flat)
            if not finite.all():
                bad["errorClass"] = "non_finite"
                bad["detail"] = f"{name}: {int(flat.size - finite.sum())} of {flat.size} values are NaN or infinite"
                raise _Abort()
            sq = float(np.dot(flat.astype(np.float64), flat.astype(np.float64)))
        stats["elements"] += flat.size
        stats["absSum"] += abs_sum
        stats["sqSum"] += sq
        stats["maxAbs"] = max(stats["maxAbs"], float(a.max()) if a.size else 0.0)
        stats["zeros"] += int(flat.size - np.count_nonzero(flat))
        del a
        base32 = seed.float32(name)
        stats["seedSq"] += float(np.dot(base32.reshape(-1), base32.reshape(-1)))
        if any(same_as) and flat.size:
            idx = rng.integers(0, flat.size, size=min(SAMPLE, flat.size))
            b = base32.reshape(-1)[idx]
            for k, c in enumerate(cands):
                if same_as[k]:
                    tau = c.float32(name).reshape(-1)[idx] - b
                    same_as[k] = bool(np.allclose(flat[idx], tau, rtol=1e-6, atol=0.0))
        merged32 = base32 + d
        merged = st_io.from_float32(merged32, info.dtype)
        if info.dtype != "F32" or not np.isfinite(sq):
            check = st_io.to_float32(merged, info.dtype)
            if not np.isfinite(check).all():
                bad["errorClass"] = "non_finite"
                bad["detail"] = f"{name}: seed + delta overflows {info.dtype}"
                raise _Abort()
        if not changed:
            changed = bool(np.any(merged != seed.raw(name)))
        return merged

    items = [(p["name"], seed.tensors[p["name"]].dtype, tuple(p["shape"]), (lambda p=p: produce(p))) for p in params]
    meta = {"format": "pt", "selfdev.algorithmSha256": hashlib.sha256(j["source"].encode()).hexdigest(),
            "selfdev.scope": j["mergeScope"], "selfdev.randomSeed": str(j["randomSeed"])}
    try:
        st_io.write_file(j["output"], items, meta)
    except _Abort:
        _remove(j["output"] + ".part")
        return dict(bad)
    n = max(1, stats["elements"])
    delta_stats = {
        "elements": stats["elements"],
        "meanAbs": stats["absSum"] / n,
        "rms": (stats["sqSum"] / n) ** 0.5,
        "maxAbs": stats["maxAbs"],
        "zeroFraction": stats["zeros"] / n,
        "relativeNorm": (stats["sqSum"] / stats["seedSq"]) ** 0.5 if stats["seedSq"] > 0 else None,
    }
    if stats["zeros"] == stats["elements"] or not changed:
        _remove(j["output"])
        why = "every delta is zero" if stats["zeros"] == stats["elements"] else "the merged model equals the seed"
        return {"errorClass": "no_op", "detail": why, "deltaStats": delta_stats}
    for k, same in enumerate(same_as):
        if same and _equals_task_vector(seed, cands[k], params, delta_of):
            _remove(j["output"])
            return {"errorClass": "no_op", "detail": f"the delta is the task vector of candidate {k + 1} ({os.path.basename(cands[k].folder)}) unchanged",
                    "deltaStats": delta_stats}
    return {"deltaStats": delta_stats}


def _equals_task_vector(seed, cand, params, delta_of) -> bool:
    for p in params:
        tau = cand.float32(p["name"]) - seed.float32(p["name"])
        if not np.allclose(delta_of(p), tau, rtol=1e-6, atol=0.0):
            return False
    return True


class _Abort(Exception):
    pass


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def main(argv: Optional[List[str]] = None) -> int:
    """`python apply_algorithm.py [job.json]` (or the job on stdin): prints the result record."""
    argv = list(sys.argv[1:] if argv is None else argv)

    def on_term(signum, _frame):
        kill_current_worker()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        if argv and argv[0] != "-":
            with open(argv[0], encoding="utf-8") as f:
                job = json.load(f)
        else:
            job = json.loads(sys.stdin.read())
    except (OSError, ValueError) as e:
        print(json.dumps(_failed("setup", f"cannot read the job: {e}")))
        return 2
    result = run_job(job)
    text = json.dumps(result, default=_json_default)
    result_file = job.get("resultFile") if isinstance(job, dict) else None
    if result_file:
        with open(result_file, "w", encoding="utf-8") as f:
            f.write(text)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return 0


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    return str(o)


__all__ = ["run_job", "main", "DEFAULT_SCOPE", "DEFAULT_LIMITS", "network_prefix"]
