"""The two seccomp filters of the kernel sandbox (docs/SANDBOX.md).

* `startup_filter`: handed to bubblewrap (--add-seccomp-fd), in force from the worker's first
  instruction: calls that no Python process doing arithmetic ever makes (ptrace, mounts, namespace
  changes, kernel modules, bpf, perf, keyrings, device nodes, io_uring, handle-based opens).
* `algorithm_filter`: added by the worker itself once its trusted set-up is done and just before
  the algorithm is loaded (filters stack; the stricter one wins): no new programs (execve), no
  new processes (fork, clone without CLONE_THREAD; threads stay allowed), no signals to other
  processes, no sockets, no priority or CPU-affinity changes, no new session or process group, no
  exit status above 3 (so an exit status can never pass for a kill by signal), no resizing of
  files (the delta buffer keeps the size the supervisor gave it), no System V IPC or POSIX
  message queues (objects that would outlive the worker for the next one of a zygote).

Every refused call kills the whole worker (SECCOMP_RET_KILL_PROCESS, seen as SIGSYS), so a
refusal cannot be caught or hidden by the algorithm; the supervisor reports it as `forbidden`.
clone3 alone answers ENOSYS: its flags live in memory a filter cannot read, and glibc then
creates threads with clone, which the filter can check.
"""
from __future__ import annotations

import errno

from . import seccomp

CLONE_THREAD = 0x00010000

STARTUP_KILL = (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "setns", "unshare",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "acct", "swapon", "swapoff", "reboot", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "sethostname", "setdomainname", "iopl", "ioperm", "quotactl", "quotactl_fd",
    "lookup_dcookie", "vhangup", "mknod", "mknodat", "name_to_handle_at", "open_by_handle_at",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init",
    "landlock_create_ruleset",
)

ALGORITHM_KILL = (
    "execve", "execveat", "fork", "vfork",
    "kill", "tkill", "rt_sigqueueinfo", "pidfd_open", "pidfd_send_signal",
    "setpriority", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr",
    "ioprio_set", "migrate_pages", "move_pages", "set_mempolicy",
    "socket", "socketpair",
    "ftruncate", "truncate", "fallocate",
    "setsid", "setpgid",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset", "memfd_secret",
    # System V IPC and POSIX message queues outlive a process inside the IPC namespace, which a
    # zygote's workers share: one algorithm could leave state for the next.
    "shmget", "shmat", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semctl",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
)


def startup_filter() -> seccomp.Filter:
    f = seccomp.Filter(seccomp.ALLOW)
    f.add_rules(seccomp.KILL_PROCESS, STARTUP_KILL)
    return f


def algorithm_filter(own_pid: int) -> seccomp.Filter:
    """`own_pid`: the worker's pid as it sees it (signals to itself, which abort() and Python's
    signal handling use, stay allowed)."""
    f = seccomp.Filter(seccomp.ALLOW)
    f.add_rules(seccomp.KILL_PROCESS, ALGORITHM_KILL)
    # A process (no CLONE_THREAD) is refused; a thread is not.
    f.add_rule(seccomp.KILL_PROCESS, "clone", (0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    f.add_rule(seccomp.KILL_PROCESS, "tgkill", (0, seccomp.NE, own_pid))
    # The worker exits with 0, 1 (an uncaught error) or 3 (a bad job); a larger code could only
    # imitate "killed by signal N" (128 + N), which is how bubblewrap reports a real kill.
    f.add_rule(seccomp.KILL_PROCESS, "exit_group", (0, seccomp.GT, 3))
    f.add_rule(seccomp.KILL_PROCESS, "rt_tgsigqueueinfo", (0, seccomp.NE, own_pid))
    return f
