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

from . import checks, isolation, st_io, zygote_client
from .procs import Reader, killpg, pdeathsig

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
    "scratchMB": 64,
}
#: A delta within this relative distance of one candidate's task vector (L2 norm over the whole
#: merge scope) is that candidate unchanged: a no-op.
DEFAULT_NO_OP_TOLERANCE = 1e-3
CAPTURE_BYTES = 64 * 1024

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


class Progress:
    """How far the worker is: the parameters it reported done (`DONE k` lines on the report fd,
    in order) and whether it has exited. The validator waits on it to check each parameter while
    the worker computes the next one."""

    def __init__(self):
        self.cond = threading.Condition()
        self.done = 0
        self.exited = False
        self.cancelled = False

    def line(self, raw: bytes) -> None:
        if raw.startswith(b"DONE "):
            try:
                k = int(raw[5:])
            except ValueError:
                return
            with self.cond:
                if k == self.done:  # anything out of order is ignored
                    self.done += 1
                    self.cond.notify_all()

    def finish(self, cancel: bool = False) -> None:
        with self.cond:
            self.exited = True
            self.cancelled = cancel
            self.cond.notify_all()

    def wait_for(self, k: int) -> str:
        """'live' when parameter k is done and the worker still runs (read a private copy),
        'exited' once the worker and its sandbox are gone."""
        with self.cond:
            while self.done <= k and not self.exited:
                self.cond.wait(0.5)
            if self.cancelled:
                return "cancelled"
            return "exited" if self.exited else "live"


class _ReportReader(Reader):
    """The report pipe: kept like any pipe, and each complete line handed to `progress`."""

    def __init__(self, fileobj, limit: int, on_first, progress: Progress):
        self.progress = progress
        self.partial = b""
        super().__init__(fileobj, limit, on_first)

    def run(self) -> None:
        super().run()

    def feed(self, chunk: bytes) -> None:
        data = self.partial + chunk
        *lines, self.partial = data.split(b"\n")
        if len(self.partial) > 4096:
            self.partial = b""
        for line in lines:
            self.progress.line(line)


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
    # "kernel" (the default) refuses to run without kernel isolation; "unisolated" is the user's
    # explicit opt-in (allowUnisolated) for machines without it.
    if j.pop("allowUnisolated", False) and j.get("isolation") != "kernel":
        j["isolation"] = "kernel" if isolation.probe(trial=False)["available"] else "unisolated"
    j.setdefault("isolation", "kernel")
    if j["isolation"] not in ("kernel", "unisolated"):
        raise ValueError(f"isolation must be kernel or unisolated, not {j['isolation']!r}")
    # False only in tests of the kernel sandbox alone (as if the Python guards had been escaped);
    # never without kernel isolation.
    j["pythonGuards"] = j.get("pythonGuards", True) is not False
    if not j["pythonGuards"] and j["isolation"] != "kernel":
        raise ValueError("pythonGuards can be switched off only under kernel isolation")
    j["limits"] = dict(DEFAULT_LIMITS, **(j.get("limits") or {}))
    tol = j.setdefault("noOpTolerance", DEFAULT_NO_OP_TOLERANCE)
    if not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise ValueError(f"noOpTolerance must be a number in [0, 1), not {tol!r}")
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


def run_job(job: dict, on_loaded=None, zygotes: Optional[zygote_client.Zygotes] = None) -> dict:
    """`on_loaded` is called (from another thread) once the worker has finished its trusted
    set-up and is about to load the algorithm: from then on, a failure is the algorithm's.
    With `zygotes` (a warm supervisor), the worker is forked by the sandbox's warm zygote
    instead of started afresh.
    Every record says how the code was contained: `isolation` is "kernel", "unisolated", or
    "none" when no code ran (a contract or set-up failure, or isolation refused)."""
    r = _run_job(job, on_loaded, zygotes)
    r.setdefault("isolation", "none")
    return r


def _run_job(job: dict, on_loaded=None, zygotes=None) -> dict:
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
        checks.check_source(source, guards=j["pythonGuards"])
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

    # 3. The worker, and (in a thread of this trusted process) the validator: it checks and
    # writes each parameter as soon as the worker reports it done, from a private copy of the
    # bytes, so the two overlap and nothing the worker does later can change what was checked.
    progress = Progress()
    checked: Dict[str, object] = {}

    def validate() -> None:
        tv = time.perf_counter()
        try:
            checked["outcome"] = _validate_and_write(j, seed, cands, params, delta_path, progress)
        except BaseException as e:  # noqa: BLE001  (reported as a runner failure below)
            checked["error"] = e
        checked["ms"] = (time.perf_counter() - tv) * 1000

    validator = threading.Thread(target=validate, daemon=True)
    worker = _run_worker(j, source, params, delta_path, seed, cands, on_loaded, progress, validator.start, zygotes)
    progress.finish(cancel=worker.get("status") != "ok")  # a failed worker: stop checking at once
    if validator.is_alive() or validator.ident is not None:
        validator.join()
    timings.update(worker.pop("timings", {}))
    timings["workerWallMs"] = worker.pop("wallMs")
    sandbox_info = worker.pop("sandbox")
    worker.pop("cpuSeconds", None)
    common = dict(result_base, sandbox=sandbox_info, isolation=sandbox_info.get("isolation", "none"),
                  peakMemoryMB=worker.pop("peakMemoryMB"),
                  output=worker.pop("output", ""), taskVectorMB=round(tau_mb, 3), parameters=len(names))
    if worker.get("status") != "ok":
        for f in (delta_path, j["output"], j["output"] + ".part"):
            _remove(f)
        timings["totalMs"] = (time.perf_counter() - t0) * 1000
        extra = {"isolationRefused": True} if worker.get("isolationRefused") else {}
        return _failed(worker["errorClass"], worker.get("detail", ""), traceback=worker.get("traceback", ""),
                       timings=timings, **extra, **common)

    # 4. The validator's outcome.
    _remove(delta_path)
    if "error" in checked or "outcome" not in checked:
        raise RuntimeError(f"validation failed: {checked.get('error')!r}")
    outcome = checked["outcome"]
    timings["validateWriteMs"] = float(checked["ms"])
    timings["totalMs"] = (time.perf_counter() - t0) * 1000
    common["throughputMBs"] = round(tau_mb / max(1e-9, timings["totalMs"] / 1000), 2)
    if "errorClass" in outcome:
        return _failed(outcome["errorClass"], outcome["detail"], timings=timings,
                       deltaStats=outcome.get("deltaStats"), **common)
    return dict(status="ok", mergedFile=j["output"], mergedSha256=outcome["sha256"], timings=timings,
                deltaStats=outcome["deltaStats"], **common)


def _kernel_setup(j: dict, seed: st_io.ModelFiles, cands: List[st_io.ModelFiles]):
    """What a kernel sandbox for this job is made of: (environment, model files, cuda), the same
    for a one-shot worker and a zygote."""
    env = scrubbed_env(isolation.SCRATCH, int(j["threads"]))
    files = [seed.paths] + [c.paths for c in cands]
    cuda = j["tensorLibrary"] == "torch" and j["device"] in ("auto", "cuda")
    return env, files, cuda


def _worker_plan(j: dict, seed: st_io.ModelFiles, cands: List[st_io.ModelFiles], script: str = WORKER, as_pid_1: bool = False):
    """How `script` (the worker, or the zygote) is started: (mode, argv, worker job fields,
    sandbox description, fds to pass, environment), or a setup failure record when kernel
    isolation is missing and not waived."""
    threads = int(j["threads"])
    if j["isolation"] != "unisolated":
        p = isolation.probe(trial=False)
        if not p["available"]:
            err = isolation.IsolationUnavailable(str(p["reason"]), str(p["fix"]))
            return _failed("setup", err.message(), isolation="none", isolationRefused=True)
        env, files, cuda = _kernel_setup(j, seed, cands)
        bpf_fd = isolation.startup_bpf_fd()
        try:
            argv, info = isolation.command(sys.executable, script, env, files, int(j["limits"]["scratchMB"]), cuda, bpf_fd, as_pid_1)
        except isolation.IsolationUnavailable as e:
            os.close(bpf_fd)
            return _failed("setup", e.message(), isolation="none", isolationRefused=True)
        folders = [f"{isolation.MODELS}/{k}" for k in range(len(files))]
        fields = {"isolation": "kernel", "seedFolder": folders[0], "candidateFolders": folders[1:],
                  "scratch": isolation.SCRATCH,
                  "readRoots": isolation.python_roots() + [os.path.dirname(HERE), isolation.MODELS]}
        return "kernel", argv, fields, dict(info, tensorLibrary=j["tensorLibrary"]), [bpf_fd], None
    prefix = None
    if j["network"] in ("auto", "namespace"):
        prefix = network_prefix()
        if prefix is None and j["network"] == "namespace":
            return _failed("setup", "a network namespace was required but unshare is not permitted here", isolation="unisolated")
    os.makedirs(j["scratch"], exist_ok=True)
    argv = (prefix or []) + [sys.executable, "-s", "-B", WORKER]
    fields = {"isolation": "unisolated", "seedFolder": j["seedModel"], "candidateFolders": j["candidates"],
              "scratch": j["scratch"], "readRoots": _read_roots()}
    info = {"isolation": "unisolated", "networkNamespace": prefix is not None, "auditHook": True, "processGroup": True,
            "scrubbedEnvironment": True, "tensorLibrary": j["tensorLibrary"], "seccomp": False}
    return "unisolated", argv, fields, info, [], scrubbed_env(j["scratch"], threads)


def _zygote_for(j: dict, seed, cands, params: list, zygotes: zygote_client.Zygotes):
    """The warm zygote for this job's sandbox, started when there is none: (zygote, its plan),
    or None for a one-shot worker (isolation off or refused, or a zygote that would not start:
    the one-shot path then reports whatever is wrong)."""
    if j["isolation"] == "unisolated" or not isolation.probe(trial=False)["available"]:
        return None
    env, files, cuda = _kernel_setup(j, seed, cands)
    key = json.dumps([sys.executable, env, files, cuda, j["tensorLibrary"], int(j["limits"]["scratchMB"])])
    z = zygotes.get(key)
    if z is None:
        plan = _worker_plan(j, seed, cands, script=zygote_client.ZYGOTE, as_pid_1=True)
        if isinstance(plan, dict):
            return None
        _, argv, fields, info, extra_fds, _ = plan
        config = {"seedFolder": fields["seedFolder"], "candidateFolders": fields["candidateFolders"],
                  "names": [p["name"] for p in params], "tensorLibrary": j["tensorLibrary"], "scratch": isolation.SCRATCH}
        try:
            z = zygote_client.Zygote(key, argv, extra_fds, config)
        except zygote_client.ZygoteError as e:
            sys.stderr.write(f"selfdev runner: {e}; running a one-shot worker instead\n")
            return None
        finally:
            for fd in extra_fds:
                os.close(fd)
        z.plan = (fields, info)
        zygotes.add(z)
    return z


def _run_worker(j: dict, source: str, params: list, delta_path: str, seed, cands, on_loaded=None,
                progress: Optional[Progress] = None, on_started=None, zygotes: Optional[zygote_client.Zygotes] = None) -> dict:
    limits = j["limits"]
    z = _zygote_for(j, seed, cands, params, zygotes) if zygotes is not None else None
    if z is not None:
        mode = "forked"
        fields, info = z.plan
        sandbox_info = dict(info, worker="forked")
        argv, extra_fds, env = [], [], None
    else:
        plan = _worker_plan(j, seed, cands)
        if isinstance(plan, dict):
            plan.pop("message", None)
            return dict(plan, wallMs=0, peakMemoryMB=0, sandbox={"isolation": plan.pop("isolation", "none")})
        mode, argv, fields, sandbox_info, extra_fds, env = plan
        sandbox_info["worker"] = "fresh"
    report_r, report_w = os.pipe()
    delta_fd = os.open(delta_path, os.O_RDWR)
    wjob = dict(fields, source=source, params=params, tensorLibrary=j["tensorLibrary"], device=j["device"],
                randomSeed=j["randomSeed"], limits=limits, threads=j["threads"], pythonGuards=j["pythonGuards"])
    start = time.perf_counter()
    deadline = start + float(limits["wallSeconds"])
    report = _ReportReader(os.fdopen(report_r, "rb"), 8 * 1024 * 1024, on_loaded, progress or Progress())
    if mode == "forked":
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        out = Reader(os.fdopen(out_r, "rb"), CAPTURE_BYTES)
        err = Reader(os.fdopen(err_r, "rb"), CAPTURE_BYTES)
        if on_started is not None:
            on_started()
        _current_worker["pgid"] = z.pgid
        try:
            ended = z.run(json.dumps(wjob).encode(), report_w, delta_fd, out_w, err_w,
                          time.monotonic() + float(limits["wallSeconds"]))
        except zygote_client.ZygoteError as e:
            ended = {"status": None, "error": str(e), "timedOut": time.perf_counter() >= deadline}
        finally:
            for fd in (report_w, delta_fd, out_w, err_w):
                os.close(fd)
            _current_worker.pop("pgid", None)
        status = ended["status"]
        code = os.waitstatus_to_exitcode(status) if status is not None else None
        timed_out = bool(ended["timedOut"])
        peak_mb = ended.get("maxRssKB", 0.0) / 1024.0
        cpu_s = ended.get("cpuSeconds", 0.0)
        stderr_extra = ended.get("error", "")
    else:
        wjob.update(deltaFd=delta_fd, reportFd=report_w)
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=j["scratch"] if mode == "unisolated" else "/", env=env if env is not None else {"PATH": "/usr/bin:/bin"},
                pass_fds=(report_w, delta_fd, *extra_fds), start_new_session=True, preexec_fn=pdeathsig, close_fds=True,
            )
        except OSError as e:
            for fd in (report_w, delta_fd, *extra_fds):
                os.close(fd)
            report.join(timeout=2)
            return {"status": "failed", "errorClass": "setup", "detail": f"cannot start the worker: {e}",
                    "wallMs": 0, "peakMemoryMB": 0, "sandbox": sandbox_info}
        for fd in (report_w, delta_fd, *extra_fds):
            os.close(fd)
        if on_started is not None:
            on_started()
        out = Reader(proc.stdout, CAPTURE_BYTES)
        err = Reader(proc.stderr, CAPTURE_BYTES)
        try:
            proc.stdin.write(json.dumps(wjob).encode())
            proc.stdin.close()
        except OSError:
            pass
        code, timed_out, peak_mb, cpu_s = _wait_fresh(proc, deadline)
        stderr_extra = ""
    wall_ms = (time.perf_counter() - start) * 1000
    for r in (report, out, err):
        r.join(timeout=2)
    lines = _report_lines(bytes(report.buf))
    ready = lines["ready"] is not None
    facts = lines["ready"] or {}
    parsed = lines["report"]
    if isinstance(facts, dict):
        sandbox_info["limits"] = facts.get("limits", {})
        if "device" in facts:
            sandbox_info["device"] = facts["device"]
    if parsed is not None:
        sandbox_info["torchLoaded"] = bool(parsed.pop("torchLoaded", False))
    base = {"wallMs": wall_ms, "peakMemoryMB": round(peak_mb, 1), "sandbox": sandbox_info, "cpuSeconds": round(cpu_s, 3)}
    if parsed is not None and isinstance(parsed.get("timings"), dict):
        base["timings"] = {k: float(v) for k, v in parsed["timings"].items() if isinstance(v, (int, float))}
    stderr_tail = (err.text() + ("\n" + stderr_extra if stderr_extra else ""))[-4000:]
    captured = str((parsed or {}).get("output", ""))
    noise = out.text()
    if noise.strip():
        captured = (captured + "\n" + noise).strip()
    base["output"] = captured[: int(limits["outputChars"])]
    # bwrap reports a worker killed by signal N as exit status 128 + N; a zygote reports the
    # worker's own wait status.
    sig = -code if code is not None and code < 0 else (code - 128 if mode == "kernel" and code is not None and 128 < code < 160 else 0)
    return dict(base, **_classify_worker(limits, timed_out, ready, parsed, lines["refused"], sig, code, cpu_s, stderr_tail))


def _wait_fresh(proc: subprocess.Popen, deadline: float):
    """Waits for a one-shot worker (or its bwrap) with the wall-clock limit, then kills its group:
    (exit code, timed out, peak MB, CPU seconds)."""
    pgid = proc.pid  # start_new_session: the worker (or bwrap) leads its own group
    _current_worker["pgid"] = pgid
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
            killpg(pgid)
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
    killpg(pgid)  # anything left in the group (unisolated mode; a sandbox dies with its PID namespace)
    cpu_s = 0.0
    try:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak_mb = usage.ru_maxrss / 1024.0
        cpu_s = usage.ru_utime + usage.ru_stime
    except ChildProcessError:
        peak_mb = 0.0
    _current_worker.pop("pgid", None)
    return proc.returncode, timed_out, peak_mb, cpu_s


def _report_lines(raw: bytes) -> dict:
    """The report pipe's lines: READY {facts} (trusted set-up), REFUSED <what>, REPORT {json}."""
    out = {"ready": None, "refused": [], "report": None}
    for line in raw.split(b"\n"):
        kind, _, rest = line.partition(b" ")
        if kind == b"READY" and out["ready"] is None:
            try:
                out["ready"] = json.loads(rest.decode("utf-8", "replace") or "{}")
            except ValueError:
                out["ready"] = {}
        elif out["ready"] is None:
            continue  # nothing before READY can come from the algorithm; nothing else is expected
        elif kind == b"REFUSED" and len(out["refused"]) < 100:
            out["refused"].append(rest.decode("utf-8", "replace")[:300])
        elif kind == b"REPORT":
            try:
                parsed = json.loads(rest.decode("utf-8", "replace"))
                out["report"] = parsed if isinstance(parsed, dict) else None
            except ValueError:
                out["report"] = None
    return out


ALGORITHM_CLASSES = frozenset(checks.FAILURE_CLASSES) - {"setup"}


def _classify_worker(limits: dict, timed_out: bool, ready: bool, parsed: Optional[dict], refused: List[str], sig: int,
                     code: Optional[int], cpu_s: float, stderr_tail: str) -> dict:
    """The worker's outcome from facts: the supervisor's clock, the CPU time and the exit status
    the kernel reports, whether trusted set-up finished (READY). The worker's own report only picks
    among the classes that are the algorithm's fault."""
    def fail(cls: str, detail: str) -> dict:
        return {"status": "failed", "errorClass": cls, "detail": detail}

    cpu_limit = float(limits.get("cpuSeconds") or 0)
    if timed_out:
        return fail("timeout", f"stopped after the wall-clock limit of {limits['wallSeconds']} s")
    if not ready:
        if sig:
            return fail("setup", f"the worker died with {_signame(sig)} before loading the algorithm: {stderr_tail[-500:]}")
        return fail("setup", f"the worker failed before loading the algorithm (exit {code}): {stderr_tail[-800:]}")
    if cpu_limit and cpu_s >= cpu_limit - 0.05 and (sig in (signal.SIGXCPU, signal.SIGKILL) or parsed is None):
        return fail("timeout", f"stopped at the CPU time limit of {limits['cpuSeconds']} s")
    if refused:
        return fail("forbidden", f"the algorithm attempted {refused[0]}" + (" (and caught the refusal)" if parsed and parsed.get("status") == "ok" else ""))
    if sig == signal.SIGSYS:
        return fail("forbidden", "the algorithm made a system call the sandbox forbids (process creation, exec, signals to other processes, sockets, priority or affinity changes, ...); the kernel stopped it")
    if sig == signal.SIGXFSZ:
        return fail("forbidden", f"wrote a file larger than {limits['fileMB']} MB")
    if sig == signal.SIGXCPU:
        return fail("timeout", f"stopped at the CPU time limit of {limits['cpuSeconds']} s")
    if sig == signal.SIGKILL:
        return fail("memory", "the worker was killed by the kernel (out of memory)")
    if sig:
        return fail("exception", f"the worker crashed with {_signame(sig)} after the algorithm was loaded")
    if parsed is not None and code == 0:
        status = parsed.get("status")
        if status == "ok":
            return {"status": "ok"}
        cls = parsed.get("errorClass")
        cls = cls if cls in ALGORITHM_CLASSES else "exception"
        out = fail(cls, str(parsed.get("detail", ""))[:2000])
        out["traceback"] = str(parsed.get("traceback", ""))[:8000]
        return out
    return fail("exception", f"the worker exited with code {code} without a report after the algorithm was loaded: {stderr_tail[-500:]}")


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


_current_worker: Dict[str, int] = {}


def kill_current_worker() -> None:
    pgid = _current_worker.get("pgid")
    if pgid:
        killpg(pgid)


def _validate_and_write(j: dict, seed: st_io.ModelFiles, cands: List[st_io.ModelFiles], params: list,
                        delta_path: str, progress: Optional[Progress] = None) -> dict:
    """Checks the deltas the worker writes and writes seed + delta in the seed's dtype, hashing the
    bytes as they are written. With `progress`, each parameter is taken as soon as the worker
    reports it done, as a private copy while the worker still runs; without, after the worker."""
    size = os.path.getsize(delta_path)
    expected = params[-1]["offset"] + 4 * int(np.prod(params[-1]["shape"], dtype=np.int64)) if params else 0
    if size != expected:
        return {"errorClass": "forbidden", "detail": f"the delta buffer was resized ({size} bytes, expected {expected})"}
    index = {p["name"]: k for k, p in enumerate(params)}
    fd = os.open(delta_path, os.O_RDONLY)
    try:
        return _validate_from(j, seed, cands, params, delta_path, progress, fd, index, expected)
    finally:
        os.close(fd)


def _validate_from(j, seed, cands, params, delta_path, progress, fd, index, expected) -> dict:
    tol = float(j["noOpTolerance"])
    n_cands = len(cands)
    # Per candidate: squared distance of the delta to its task vector, ||seed + delta - C_k||^2
    # (the task vector's own norm is needed only for a delta that comes close, see below).
    dist_sq = [0.0] * n_cands
    stats = {"elements": 0, "absSum": 0.0, "sqSum": 0.0, "maxAbs": 0.0, "zeros": 0, "seedSq": 0.0}
    changed = False
    bad: Dict[str, str] = {}

    def delta_of(p) -> np.ndarray:
        """The parameter's delta, read into memory of this process: what is checked is what is
        written, whatever the worker does to the shared file afterwards."""
        state = progress.wait_for(index[p["name"]]) if progress is not None else "exited"
        if state == "cancelled":
            raise _Abort()
        numel = int(np.prod(p["shape"], dtype=np.int64))
        out = np.empty(numel, dtype=np.float32)
        view = memoryview(out).cast("B")
        pos = int(p["offset"])
        while view:
            n = os.preadv(fd, [view], pos)
            if n <= 0:
                bad["errorClass"] = "forbidden"
                bad["detail"] = "the delta buffer was cut short while the algorithm ran"
                raise _Abort()
            view, pos = view[n:], pos + n
        return out.reshape(p["shape"])

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
        stats["zeros"] += int(np.count_nonzero(flat == 0))  # far faster than counting non-zero floats
        del a
        base32 = seed.float32(name)
        base_flat = base32.reshape(-1)
        stats["seedSq"] += float(np.dot(base_flat, base_flat))
        merged32 = base32 + d
        if tol > 0 and flat.size:
            buf = np.empty_like(flat)
            m_flat = merged32.reshape(-1)
            for k, c in enumerate(cands):
                np.subtract(c.float32(name).reshape(-1), m_flat, out=buf)  # tau_k - delta
                dist_sq[k] += float(np.dot(buf, buf))
            del buf
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
    if not params:
        return {"errorClass": "no_op", "detail": "nothing in scope"}
    meta = {"format": "pt", "selfdev.algorithmSha256": hashlib.sha256(j["source"].encode()).hexdigest(),
            "selfdev.scope": j["mergeScope"], "selfdev.randomSeed": str(j["randomSeed"])}
    digest = hashlib.sha256()
    try:
        st_io.write_file(j["output"], items, meta, digest=digest)
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
    if os.path.getsize(delta_path) != expected:
        _remove(j["output"])
        return {"errorClass": "forbidden", "detail": "the delta buffer was resized while the algorithm ran"}
    if stats["zeros"] == stats["elements"] or not changed:
        _remove(j["output"])
        why = "every delta is zero" if stats["zeros"] == stats["elements"] else "the merged model equals the seed"
        return {"errorClass": "no_op", "detail": why, "deltaStats": delta_stats}
    d_norm = stats["sqSum"] ** 0.5
    for k in range(n_cands):
        dist = dist_sq[k] ** 0.5
        # ||tau_k|| <= ||delta|| + dist, so beyond this bound the delta cannot be within tol of
        # tau_k; only a delta that close needs ||tau_k||, read from the (trusted) model files.
        if tol <= 0 or dist * (1 - tol) > tol * d_norm:
            continue
        tau_sq = _task_vector_sq_norm(seed, cands[k], params)
        if tau_sq > 0 and dist_sq[k] <= (tol ** 2) * tau_sq:
            _remove(j["output"])
            rel = (dist_sq[k] / tau_sq) ** 0.5
            return {"errorClass": "no_op",
                    "detail": f"the delta is the task vector of candidate {k + 1} ({os.path.basename(cands[k].folder)}) "
                              f"unchanged, up to a relative difference of {rel:.2e} (tolerance {tol:g})",
                    "deltaStats": delta_stats, "matchedCandidate": k}
    return {"deltaStats": delta_stats, "sha256": digest.hexdigest()}


def _task_vector_sq_norm(seed: st_io.ModelFiles, cand: st_io.ModelFiles, params: list) -> float:
    total = 0.0
    for p in params:
        t = (cand.float32(p["name"]) - seed.float32(p["name"])).reshape(-1)
        total += float(np.dot(t, t))
    return total


class _Abort(Exception):
    pass


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class ResultChannel:
    """Where the supervisor tells its caller what happened: framed lines on a descriptor the
    caller opened for it (the job's resultChannel.fd), each carrying the caller's per-job nonce.
    The worker never holds this descriptor (it is not inheritable and never passed on) and never
    sees the nonce. Without a channel (a person running the script) the record goes to stdout."""

    def __init__(self, spec):
        self.fd: Optional[int] = None
        self.nonce = ""
        self.lock = threading.Lock()
        if isinstance(spec, dict) and isinstance(spec.get("fd"), int):
            self.fd = spec["fd"]
            self.nonce = str(spec.get("nonce", ""))
            os.set_inheritable(self.fd, False)

    def send(self, message: dict) -> None:
        body = json.dumps(message, default=_json_default)
        if self.fd is None:
            if message.get("event") == "result":
                sys.stdout.write(json.dumps(message["result"], default=_json_default) + "\n")
                sys.stdout.flush()
            return
        data = f"SELFDEV {self.nonce} {body}\n".encode()
        with self.lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]


def _answer(job: dict, zygotes: Optional[zygote_client.Zygotes] = None) -> None:
    """Runs one job and sends its record on the job's own channel (and result file)."""
    channel = ResultChannel(job.pop("resultChannel", None))
    try:
        result = run_job(job, on_loaded=lambda: channel.send({"event": "loaded"}), zygotes=zygotes)
    except Exception as e:  # noqa: BLE001  (a bug here must still produce a record)
        result = _failed("setup", f"the runner failed: {type(e).__name__}: {e}")
    result_file = job.get("resultFile")
    if result_file:
        with open(result_file, "w", encoding="utf-8") as f:
            f.write(json.dumps(result, default=_json_default))
    channel.send({"event": "result", "result": result})


def serve() -> int:
    """Warm mode: one job per line on stdin, each answered on its own channel with its own
    nonce, until the end of input. This trusted process stays warm (its interpreter and numpy
    loaded), and so does the sandbox's zygote (zygote.py), which forks a fresh worker for each
    algorithm; SELFDEV_RUNNER_ZYGOTE=0 starts a one-shot sandbox per algorithm instead. A line
    that is not a job is said on stderr and skipped (the caller's own timeout applies)."""
    zygotes = zygote_client.Zygotes() if os.environ.get("SELFDEV_RUNNER_ZYGOTE", "1") != "0" else None
    try:
        _serve_lines(zygotes)
    finally:
        if zygotes is not None:
            zygotes.close()
    return 0


def _serve_lines(zygotes: Optional[zygote_client.Zygotes]) -> None:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            job = json.loads(line)
            if not isinstance(job, dict):
                raise ValueError("the job is not a JSON object")
        except ValueError as e:
            sys.stderr.write(f"selfdev runner: cannot read a job: {e}\n")
            sys.stderr.flush()
            continue
        _answer(job, zygotes)


def main(argv: Optional[List[str]] = None) -> int:
    """`python apply_algorithm.py [job.json]` (or the job on stdin): runs the job and sends the
    result record. `--serve`: jobs one per line on stdin (warm mode). `--probe` prints whether
    kernel isolation works."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--probe":
        print(json.dumps(isolation.probe(trial=True)))
        return 0

    def on_term(signum, _frame):
        kill_current_worker()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if argv and argv[0] == "--serve":
        return serve()
    try:
        if argv and argv[0] != "-":
            with open(argv[0], encoding="utf-8") as f:
                job = json.load(f)
        else:
            job = json.loads(sys.stdin.read())
        if not isinstance(job, dict):
            raise ValueError("the job is not a JSON object")
    except (OSError, ValueError) as e:
        print(json.dumps(_failed("setup", f"cannot read the job: {e}")))
        return 2
    _answer(job)
    return 0


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    return str(o)


__all__ = ["run_job", "main", "DEFAULT_SCOPE", "DEFAULT_LIMITS", "network_prefix"]
