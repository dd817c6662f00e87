"""Kernel isolation of the worker: bubblewrap namespaces, an unprivileged uid, seccomp.

The supervisor builds a bubblewrap (bwrap) command line that starts the worker in fresh user (when
not root), PID, mount, network, IPC, UTS and cgroup namespaces, with:
* a root file system that is an empty, read-only tmpfs holding only what the worker needs, bound
  read-only: the system's libraries (/usr, /lib*), the Python installation, the runner's code,
  and each model file the job names (under /selfdev/models/<k>/);
* a size-capped tmpfs at /selfdev/scratch as the only writable place (cwd, HOME, TMPDIR);
* /dev with only null, zero, full, random, urandom and tty (and the NVIDIA nodes for CUDA jobs),
  itself read-only; a /proc of its own PID namespace (no other process is visible);
* no capabilities, no_new_privs, a new session, death with its parent;
* the startup seccomp filter (policy.startup_filter) in force from the first instruction.
As root, bwrap runs in its privileged mode (no user namespace) and leaves the worker only
CAP_SETUID/SETGID/SETPCAP, which the worker uses once to become uid/gid 65534 with no
capabilities at all before it loads the algorithm; as any other user, bwrap maps the caller to
uid 65534 inside a user namespace that holds no capability. Either way the algorithm runs as an
unprivileged uid that owns none of the files it can see.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import sysconfig
from typing import Dict, List, Optional, Sequence, Tuple

from . import policy, seccomp

SANDBOX_UID = 65534
SANDBOX_GID = 65534
ROOT = "/selfdev"
SCRATCH = ROOT + "/scratch"
MODELS = ROOT + "/models"
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf")
#: Debian's alternatives: libraries such as libblas.so.3 are symlinks through it.
SYSTEM_LINK_DIRS = ("/etc/alternatives",)
HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER_DIR = os.path.dirname(HERE)

FIX_BWRAP = ("install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap; "
             "Arch: sudo pacman -S bubblewrap), or point SELFDEV_BWRAP at a bwrap binary")
FIX_USERNS = ("allow unprivileged user namespaces (Debian: sudo sysctl kernel.unprivileged_userns_clone=1; Ubuntu 24.04+: "
              "an AppArmor profile for bwrap, or sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0; "
              "any distribution: user.max_user_namespaces > 0), or run the backend as root in a container")
OPT_OUT = ("to run generated code without kernel isolation (not recommended: it then runs as your user with only "
           "Python-level guards), set selfdev.sandbox.allowUnisolated in VS Code or pass --allow-unisolated to selfdev")


def bwrap_path() -> Optional[str]:
    explicit = os.environ.get("SELFDEV_BWRAP")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("bwrap", path=os.environ.get("PATH", "") + ":/usr/bin:/bin")


#: --size (a capped tmpfs) came with bubblewrap 0.7.0; --disable-userns with 0.8.0 (without it,
#: the seccomp filters still refuse unshare and namespace-creating clones).
MIN_BWRAP = (0, 7, 0)
_versions: Dict[str, Tuple[int, ...]] = {}


def bwrap_version(bwrap: str) -> Tuple[int, ...]:
    """bubblewrap's version as a tuple, (0,) when it cannot be read."""
    if bwrap not in _versions:
        try:
            out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout
            _versions[bwrap] = tuple(int(x) for x in out.strip().split()[-1].split(".")[:3])
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
            _versions[bwrap] = (0,)
    return _versions[bwrap]


def privileged() -> bool:
    return os.geteuid() == 0


def python_roots() -> List[str]:
    """Folders of this interpreter that the worker must read: the installation (for a venv, the
    venv and its base), the standard library, site-packages, and the folder of the executable."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, getattr(sys, "base_exec_prefix", sys.exec_prefix),
             os.path.dirname(sys.executable), os.path.dirname(os.path.realpath(sys.executable))}
    paths = sysconfig.get_paths()
    roots.update(paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths)
    try:
        import site

        roots.update(site.getsitepackages())
    except (AttributeError, ImportError):
        pass
    return [r for r in roots if r and os.path.isdir(r)]


def library_path_dirs(env: Dict[str, str]) -> List[str]:
    return [d for d in env.get("LD_LIBRARY_PATH", "").split(":") if d and os.path.isabs(d) and os.path.isdir(d)]


def cuda_devices() -> List[str]:
    try:
        names = os.listdir("/dev")
    except OSError:
        return []
    return sorted(os.path.join("/dev", n) for n in names if n.startswith("nvidia"))


class Mounts:
    """Builds bwrap's mount arguments: read-only binds, with each folder above a bind created
    0755 (bwrap would make them 0700, which the unprivileged uid could not pass)."""

    def __init__(self) -> None:
        self.args: List[str] = []
        self.bound: List[str] = []
        self.made: set = {"/"}

    def _covered(self, path: str) -> bool:
        return any(path == b or path.startswith(b.rstrip("/") + "/") for b in self.bound)

    def _parents(self, dest: str) -> None:
        parts = dest.strip("/").split("/")[:-1]
        cur = ""
        for p in parts:
            cur += "/" + p
            if cur in self.made or self._covered(cur):
                continue
            self.args += ["--perms", "0755", "--dir", cur]
            self.made.add(cur)

    def ro_bind(self, src: str, dest: Optional[str] = None) -> None:
        dest = dest or src
        if self._covered(dest) and (dest == src):
            return  # already visible through a folder bound above it
        self._parents(dest)
        self.args += ["--ro-bind", src, dest]
        self.bound.append(dest)

    def dev_bind(self, src: str) -> None:
        self.args += ["--dev-bind", src, src]

    def symlink(self, target: str, dest: str) -> None:
        self.args += ["--symlink", target, dest]
        self.made.add(dest)


def system_mounts(m: Mounts, extra_dirs: Sequence[str]) -> None:
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            m.symlink(os.readlink(d), d)
        elif os.path.isdir(d):
            m.ro_bind(d)
    for f in SYSTEM_FILES:
        if os.path.isfile(f):
            m.ro_bind(f)
    for d in SYSTEM_LINK_DIRS:
        if os.path.isdir(d):
            m.ro_bind(d)
    # The interpreter and the runner: longest paths last, so a folder inside another is skipped.
    for d in sorted({os.path.realpath(x) for x in extra_dirs} | set(extra_dirs), key=len):
        if os.path.isdir(d) and not os.path.islink(d):
            m.ro_bind(d)


def command(python: str, worker: str, env: Dict[str, str], model_files: Sequence[Sequence[str]], scratch_mb: int,
            cuda: bool, seccomp_fd: int, as_pid_1: bool = False) -> Tuple[List[str], Dict[str, object]]:
    """The bwrap command line that starts `python worker` in the sandbox, and a description of
    the sandbox for the result record. `model_files[k]` are the files of model k (seed first),
    bound under /selfdev/models/k/ by their own names. `as_pid_1` (a zygote): no bwrap init in
    the sandbox; the zygote is its PID 1 (in bwrap's user-namespace mode the init would run as
    the workers' uid, dumpable and without seccomp)."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise IsolationUnavailable("bubblewrap (bwrap) is not installed", FIX_BWRAP)
    version = bwrap_version(bwrap)
    if version < MIN_BWRAP:
        raise IsolationUnavailable(f"bubblewrap {'.'.join(map(str, version))} is too old (0.7 or newer caps the scratch size)",
                                   "install bubblewrap 0.7 or newer (Debian 12, Ubuntu 24.04 and Fedora ship one), or point SELFDEV_BWRAP at one")
    m = Mounts()
    system_mounts(m, python_roots() + [RUNNER_DIR] + library_path_dirs(env))
    for k, files in enumerate(model_files):
        for f in files:
            m.ro_bind(os.path.realpath(f), f"{MODELS}/{k}/{os.path.basename(f)}")
    args = [bwrap]
    if privileged():
        args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                 "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    else:
        args += ["--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)]
        if version >= (0, 8, 0):
            args += ["--disable-userns"]
    args += ["--die-with-parent", "--new-session", "--hostname", "selfdev-sandbox"]
    if as_pid_1:
        args += ["--as-pid-1"]
    args += m.args
    args += ["--proc", "/proc", "--dev", "/dev"]
    if not as_pid_1:
        # bwrap's own init is the sandbox's PID 1. In user-namespace mode it runs as the worker's
        # uid, dumpable and without the seccomp filter, so its /proc entry (mem above all) would be
        # the worker's to write; an empty tmpfs over it leaves the worker no way to it (mounts are
        # forbidden to the worker). A zygote is PID 1 itself and non-dumpable.
        args += ["--tmpfs", "/proc/1"]
    if cuda:
        for d in cuda_devices():
            args += ["--dev-bind", d, d]
        if os.path.isdir("/sys"):
            args += ["--ro-bind", "/sys", "/sys"]
    args += ["--remount-ro", "/dev"]
    args += ["--perms", "0755", "--dir", ROOT, "--size", str(int(scratch_mb) * 1024 * 1024), "--perms", "0777", "--tmpfs", SCRATCH,
             "--chdir", SCRATCH, "--remount-ro", "/"]
    args += ["--clearenv"]
    for k, v in env.items():
        args += ["--setenv", k, v]
    args += ["--add-seccomp-fd", str(seccomp_fd), "--", python, "-s", "-B", worker]
    info = {
        "isolation": "kernel",
        "method": "bubblewrap",
        "namespaces": ["mount", "pid", "network", "ipc", "uts", "cgroup"] + ([] if privileged() else ["user"]),
        "uid": SANDBOX_UID,
        "seccomp": True,
        "noNewPrivileges": True,
        "networkNamespace": True,
        "auditHook": True,
        "processGroup": True,
        "scrubbedEnvironment": True,
        "scratchMB": int(scratch_mb),
        "gpuDevices": bool(cuda and cuda_devices()),
    }
    return args, info


def startup_bpf_fd() -> int:
    """A memfd holding the startup filter's BPF program, positioned at 0, for --add-seccomp-fd."""
    f = policy.startup_filter()
    try:
        prog = f.export_bpf()
    finally:
        f.release()
    fd = os.memfd_create("selfdev-startup-filter", 0)
    os.write(fd, prog)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class IsolationUnavailable(Exception):
    def __init__(self, reason: str, fix: str):
        super().__init__(reason)
        self.reason = reason
        self.fix = fix

    def message(self) -> str:
        return f"kernel isolation is not available: {self.reason}. To fix: {self.fix}. Otherwise, {OPT_OUT}."


_probe_cache: Dict[str, object] = {}


def probe(trial: bool = True) -> Dict[str, object]:
    """Whether kernel isolation works here, with the reason and the fix when it does not.
    `trial` starts one real sandbox (about 30 ms) so a kernel or policy that refuses namespaces
    is found now, not at the first algorithm."""
    if "r" in _probe_cache:
        return dict(_probe_cache["r"])  # type: ignore[arg-type]
    r: Dict[str, object] = {"available": False, "method": "bubblewrap", "privileged": privileged()}
    if not sys.platform.startswith("linux"):
        r.update(reason=f"it needs Linux (namespaces and seccomp); this is {sys.platform}",
                 fix="run the backend on a Linux machine (a remote backend, WSL 2, or a Linux container)")
        return r
    bwrap = bwrap_path()
    if bwrap is None:
        r.update(reason="bubblewrap (bwrap) is not installed", fix=FIX_BWRAP)
        return r
    r["bwrap"] = bwrap
    version = bwrap_version(bwrap)
    if version == (0,):
        r.update(reason=f"{bwrap} cannot be run or does not say its version", fix=FIX_BWRAP)
        return r
    r["bwrapVersion"] = ".".join(map(str, version))
    if version < MIN_BWRAP:
        r.update(reason=f"bubblewrap {r['bwrapVersion']} is too old (0.7 or newer caps the scratch size)",
                 fix="install bubblewrap 0.7 or newer (Debian 12, Ubuntu 24.04 and Fedora ship one), or point SELFDEV_BWRAP at one")
        return r
    try:
        seccomp.library()
    except seccomp.SeccompError as e:
        r.update(reason=str(e), fix="install libseccomp (Debian/Ubuntu: sudo apt-get install libseccomp2)")
        return r
    if trial:
        fd = startup_bpf_fd()
        try:
            code = ("from selfdev_runner import policy, isolation; import os; isolation.drop_privileges(); "
                    "policy.algorithm_filter(os.getpid()).load(); print(os.getuid())")
            args, _ = command(sys.executable, "-c", {"PATH": "/usr/bin:/bin", "PYTHONPATH": RUNNER_DIR}, [], 1, False, fd)
            args.append(code)  # `python -s -B -c CODE` instead of the worker script
            p = subprocess.run(args, capture_output=True, text=True, timeout=30, pass_fds=(fd,), start_new_session=True)
        except (OSError, subprocess.TimeoutExpired, IsolationUnavailable) as e:
            r.update(reason=f"a trial sandbox could not start: {e}", fix=FIX_USERNS)
            return r
        finally:
            os.close(fd)
        if p.returncode != 0 or p.stdout.strip() != str(SANDBOX_UID):
            why = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
            r.update(reason=f"a trial sandbox failed: {why}", fix=FIX_USERNS)
            return r
    r.update(available=True)
    _probe_cache["r"] = dict(r)
    return r


# --- inside the sandbox (worker side) ----------------------------------------------------------

_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_privileges() -> None:
    """As uid 0 (bwrap's privileged mode): empty the capability bounding set, become
    SANDBOX_UID/GID with no supplementary groups, and clear every capability set. A no-op for a
    worker that is already unprivileged (bwrap's user-namespace mode)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if os.getuid() != 0 and os.geteuid() != 0:
        return
    for cap in range(64):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability: ignored
    os.setgroups([])
    os.setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID)
    os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)  # clears permitted and effective
    hdr = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    if libc.capset(ctypes.byref(hdr), data) != 0:  # inheritable too
        raise OSError(ctypes.get_errno(), "capset failed")
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("the worker is still uid 0 after dropping privileges")
