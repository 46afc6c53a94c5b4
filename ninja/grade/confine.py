"""The layers that confine one graded child before the learner's code runs (Linux).

Built once in the warm worker (`Policy.build`: what this machine allows, the read-only paths, the
seccomp filter), applied in every child (`Policy.apply`): descriptors closed, limits, its own uid
and gid per slot when the grader is root, no_new_privs, a Landlock domain (read-only interpreter and
libraries, nothing of the submissions, solutions or outputs; its own job folder read-write; signals
and abstract sockets scoped), a seccomp filter. The fork server forks each child into fresh net, PID and IPC
namespaces (`Namespaces`, through a user namespace of its own when not root), so the child is its
namespace's pid 1 and every process it starts dies with it; in a mount namespace of its own, its
folder is a tmpfs with a size (`private_folder`). Each job has a cgroup of its own, with its slot's
share of CPU, memory and processes (ninja/grade/cgroups.py): the child joins it first of all.

Libraries: landlockpy (pure Python over the kernel's documented ABI, best effort per ABI version,
maintained, no native build) and pyseccomp (ctypes over the system's libseccomp, which compiles
the filter: no syscall numbers here). Where one is missing, `layers()` says which and what it means.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import sys
import sysconfig
from dataclasses import dataclass, field

from ninja.grade.cgroups import Cgroups, join

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
CLONE_NEWIPC = 0x08000000
NAMESPACE_FLAGS = (CLONE_NEWNS, 0x02000000, 0x04000000, 0x08000000, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
                   0x00000080)  # mount, cgroup, uts, ipc, user, pid, net, time  # fmt: skip
OURS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # this ninja package
LINUX = sys.platform.startswith("linux")
UID_BASE = 60100  # slot k runs as uid/gid UID_BASE + k (isolate's boxes use 60000 + box)
UID_BLOCK, UID_BLOCKS = 1000, 32  # a grader running beside others takes the next free block of uids
UID_LOCKS = ("/run/ninja-grade", "/var/lock/ninja-grade")  # root's own lock folders, one file a block
RESULT_FD = 3
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "unshare", "setns", "bpf", "keyctl",
    "add_key", "request_key", "perf_event_open", "open_by_handle_at", "name_to_handle_at", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "pivot_root", "chroot", "swapon", "swapoff",
    "reboot", "acct", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init",
    "move_mount", "open_tree", "fsopen", "fsmount", "fspick", "mount_setattr", "quotactl", "kcmp", "pidfd_getfd",
    "socket", "process_madvise", "settimeofday", "clock_settime", "sethostname", "setdomainname", "vhangup",
    # System V IPC: shared memory, queues, semaphores (a hand-off between students); no numeric code uses them
    "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
    "semctl",
)  # fmt: skip
# a learner's file may import these even where the slot's uid cannot read the standard library
PRELOAD = ("math", "random", "itertools", "functools", "collections", "re", "string", "time", "json", "copy",
           "operator", "statistics", "numbers", "dataclasses", "typing", "heapq", "bisect", "fractions", "decimal",
           "numpy", "numpy.linalg", "numpy.random", "torch", "torch.nn", "torch.nn.functional",
           "torch.nn.init")  # fmt: skip


@dataclass
class Policy:
    """What confines a child here, decided once in the warm worker."""

    read_only: list[tuple[str, bool]] = field(default_factory=list)  # (path, is a folder)
    missing: dict[str, str] = field(default_factory=dict)  # layer -> why it is missing and what that means
    landlock_abi: int = 0
    as_root: bool = False
    namespaces: bool = False  # each child in fresh PID, net and IPC namespaces, and a mount namespace of its own
    user_namespace: bool = False  # not root: the fork server holds them through a user namespace of its own
    processes: int = 64
    seccomp: object = None  # a pyseccomp.SyscallFilter, loaded in each child
    uid_base: int = UID_BASE  # slot k runs as uid_base + k (root only): a block no other grader here holds
    cgroups: Cgroups | None = None  # the fork server's, once it has made them (`Cgroups.open`)

    @classmethod
    def build(cls, hidden: list[str]) -> Policy:
        """`hidden`: folders no child may read (the bundled solutions and templates, every submission)."""
        policy = cls(as_root=LINUX and os.geteuid() == 0)
        policy.read_only = [(path, os.path.isdir(path)) for path in readable_roots(hidden)]
        policy.landlock_abi = landlock_abi(policy.missing)
        policy.seccomp = seccomp_filter(policy.missing)
        if not policy.as_root:
            policy.missing["uid"] = f"the grader is not root: children run as its own user (uid {os.getuid()})"
        if not LINUX:
            policy.missing["cgroups"] = f"{sys.platform} has no cgroups: slots share the CPU by the scheduler alone"
            policy.missing["no_new_privs"] = f"{sys.platform} has no no_new_privs: only the rlimits confine a child"
            policy.missing["namespaces"] = f"{sys.platform} has no namespaces: a child's processes may outlive it"
        return policy

    def layers(self) -> list[str]:
        """Named layers this machine has, for `ninja grade`'s isolation line."""
        named = []
        if self.landlock_abi:
            named.append(f"landlock {self.landlock_abi}")
        if self.seccomp is not None:
            named.append("seccomp")
        if self.as_root:
            named.append(f"uid {self.uid_base}+slot")
        if LINUX:
            named.append("no_new_privs")
        if self.user_namespace:
            named.append("user namespace")
        if self.namespaces:
            named.append("net+pid+ipc namespaces")
            named.append("private tmpfs folder")
        if self.cgroups is not None:
            named.append(self.cgroups.line())
        named.append("fds closed, rlimits")
        return named

    def apply(self, job: dict, result_fd: int, limits) -> None:
        """In the freshly forked child, before any learner code; raises if a layer fails."""
        if "cgroups_error" in job:
            raise OSError(job["cgroups_error"])
        if "cgroups" in job:
            join(job["cgroups"])
        os.setpgid(0, 0)
        if result_fd != RESULT_FD:
            os.dup2(result_fd, RESULT_FD)
        os.closerange(RESULT_FD + 1, 1 << 16)  # the fork server's socket, anything inherited
        set_limits(limits, self.processes)
        quiet_stdio()
        folder = job["dir"]
        uid = self.uid_base + int(job["slot"]) if self.as_root else os.getuid()
        if self.namespaces:
            private_folder(folder, limits.file_mb, uid)
        elif self.as_root:
            hand_over(folder, uid)
        if self.as_root:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        os.chdir(folder)
        os.environ.clear()
        os.environ.update({"TMPDIR": folder, "HOME": folder, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        import tempfile

        tempfile.tempdir = folder
        if LINUX:
            no_new_privs()
        if self.user_namespace:
            drop_capabilities()  # what the user namespace gave the fork server, its children do not keep
        if self.landlock_abi:
            restrict_paths(self, folder)
        if self.seccomp is not None:
            self.seccomp.load()


MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 0x40000


def expose_libraries(read_only: list[tuple[str, bool]], missing: dict[str, str]) -> None:
    """Root only, once, in the fork server (its children inherit it): a folder above a library that
    other users cannot pass through (a 0700 home holding pyenv's Python) is covered, in a mount
    namespace of the fork server's own, by a small tmpfs anyone may pass through that holds only the
    way down to the libraries, bound from the real folders. The slots' uids can then import lazily
    (and decode a BOM: encodings.utf_8_sig); the rest of that home is hidden from them."""
    ways = private_ways([path for path, _ in read_only])
    if not ways:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    originals: dict[str, int] = {}
    try:
        check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        # opened in the new namespace (a bind from another one is refused), before anything covers them
        originals = {way: os.open(way, os.O_PATH | os.O_CLOEXEC) for entries in ways.values() for way in entries}
        for folder in sorted(ways, key=len):  # outer first: a private folder inside another is bound back first
            check(libc.mount(b"tmpfs", folder.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=755,size=1m"),
                  f"tmpfs on {folder}")  # fmt: skip
            for way in sorted(ways[folder]):
                if os.path.isdir(f"/proc/self/fd/{originals[way]}"):
                    os.mkdir(way, 0o755)
                else:
                    os.close(os.open(way, os.O_CREAT | os.O_WRONLY, 0o644))
                source = f"/proc/self/fd/{originals[way]}".encode()
                check(libc.mount(source, way.encode(), None, MS_BIND | MS_REC, None), f"bind {way}")
    except OSError as e:
        missing["library"] = f"a folder above Python's library is private and could not be opened to the slots ({e})"
    finally:
        for fd in originals.values():
            os.close(fd)


def private_ways(paths: list[str]) -> dict[str, set[str]]:
    """For each folder above a path that other users cannot pass through: the entries in it that
    lead to the paths."""
    ways: dict[str, set[str]] = {}
    for path in paths:
        folder = os.path.dirname(path)
        below = path
        chain = []
        while folder != below:
            chain.append((folder, below))
            folder, below = os.path.dirname(folder), folder
        for above, entry in chain:
            try:
                private = not os.stat(above).st_mode & 0o001
            except OSError:
                continue
            if private:
                ways.setdefault(above, set()).add(entry)
    return ways


def check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def claim_uids() -> int:
    """The first block of slot uids that no other grader on this machine holds, held by an flock
    for this process's life. Two graders at once (two courses, or a test suite run in parallel)
    must not share uids: RLIMIT_NPROC counts per uid, so one's fork bomb would starve the other.
    The lock files are root's (0600 in a 0700 folder): no child can open them. Where no lock folder
    can be made, block 0, as before."""
    import fcntl

    for folder in UID_LOCKS:
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            if os.stat(folder).st_uid != 0 or os.stat(folder).st_mode & 0o077:
                continue  # made by someone else: not a lock to trust
            for block in range(UID_BLOCKS):
                fd = os.open(os.path.join(folder, f"uids-{block}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                return UID_BASE + block * UID_BLOCK  # fd stays open: the lock lasts as long as this process
        except OSError:
            continue
    return UID_BASE


def strict_refuses(missing: dict[str, str]) -> list[str]:
    """The missing layers that make `--isolation strict` refuse: every one (each is one a machine can have)."""
    return list(missing)


def hand_over(folder: str, uid: int) -> None:
    """The job folder (written by the parent, no links in it) becomes the slot's own."""
    for parent, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            os.chown(os.path.join(parent, name), uid, uid, follow_symlinks=False)
    os.chown(folder, uid, uid)


def readable_roots(hidden: list[str]) -> list[str]:
    """The interpreter, its standard library, the installed packages and ninja's own code: what a
    child may read. A folder holding backprop-ninja's `ninja` (a checkout, with solutions/ beside
    it, or site-packages) gives only the package, less its _bundled solutions, and its siblings
    only when it is site-packages."""
    hidden_paths = {os.path.realpath(h) for h in hidden}
    roots: set[str] = set()
    paths = sysconfig.get_paths()
    candidates = [*sys.path, *(paths.get(k, "") for k in ("stdlib", "platstdlib", "purelib", "platlib"))]
    for entry in candidates:
        entry = os.path.realpath(entry) if entry else ""
        if not entry or not os.path.isdir(entry):
            continue
        package = os.path.join(entry, "ninja")
        # backprop-ninja (this copy or another: an editable install's checkout), not PyPI's ninja build tool
        ours = os.path.realpath(package) == OURS or os.path.isfile(os.path.join(package, "registry.py"))
        if ours or any(h.startswith(entry + os.sep) for h in hidden_paths):
            bundled = os.path.join(package, "_bundled")  # an installed wheel's solutions: left out
            roots |= entries_except(package, hidden_paths | {bundled}) if os.path.isdir(bundled) else {package}
            if os.path.basename(entry) in ("site-packages", "dist-packages"):
                roots |= entries_except(entry, hidden_paths | {package})
        else:
            roots.add(entry)
    for shared in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/etc/ld.so.cache"):
        if os.path.exists(shared):
            roots.add(os.path.realpath(shared))
    roots.add(os.path.realpath(sys.executable))
    return sorted(r for r in roots if not any(r == h or r.startswith(h + os.sep) for h in hidden_paths))


def entries_except(folder: str, hidden: set[str]) -> set[str]:
    if not os.path.isdir(folder):
        return set()
    return {os.path.join(folder, e) for e in os.listdir(folder) if os.path.join(folder, e) not in hidden}


def landlock_abi(missing: dict[str, str]) -> int:
    try:
        import landlockpy
    except ImportError:
        missing["landlock"] = "landlockpy is not installed: a child can read every file its uid can"
        return 0
    try:
        abi = landlockpy.abi_version()
    except OSError as e:
        abi, why = 0, str(e)
    else:
        why = "the kernel has no Landlock (Linux 5.13+, enabled at boot)"
    if not abi:
        missing["landlock"] = f"{why}: a child can read every file its uid can"
    elif abi < 6:
        missing["landlock scopes"] = f"Landlock ABI {abi} < 6: signals and abstract sockets are not scoped"
    return abi


def restrict_paths(policy: Policy, folder: str) -> None:
    from landlockpy import AccessFS, Ruleset, fs_for_abi, net_for_abi, scope_for_abi

    every = fs_for_abi(policy.landlock_abi)
    reading = AccessFS.READ_FILE | AccessFS.READ_DIR
    with Ruleset(handled_fs=every, handled_net=net_for_abi(policy.landlock_abi),
                 scoped=scope_for_abi(policy.landlock_abi)) as rules:  # fmt: skip
        for path, folder_too in policy.read_only:
            try:
                rules.allow_path(path, reading if folder_too else AccessFS.READ_FILE)
            except OSError:
                continue  # vanished, or unreadable by this uid: not granted
        rules.allow_path("/dev/null", AccessFS.READ_FILE | AccessFS.WRITE_FILE)
        rules.allow_path(folder, every & ~AccessFS.EXECUTE)
        rules.restrict(no_new_privs=True)


def seccomp_filter(missing: dict[str, str]):
    try:
        import pyseccomp as sc

        rules = sc.SyscallFilter(sc.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                rules.add_rule(sc.ERRNO(errno.EPERM), name)
            except OSError:
                continue  # unknown on this architecture
        rules.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")  # its flags are out of a filter's reach: libc falls back
        for flag in NAMESPACE_FLAGS:
            rules.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
        return rules
    except (ImportError, OSError, AttributeError) as e:  # AttributeError/OSError: no libseccomp.so.2
        missing["seccomp"] = f"no seccomp filter ({type(e).__name__}: {e}): a child may call ptrace, mount, bpf, socket"
        return None


def set_limits(limits, processes: int) -> None:
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    memory = mapped_bytes() + limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * 2**20, limits.file_mb * 2**20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def mapped_bytes() -> int:
    """Virtual memory this process has mapped already (torch reserves a lot of it)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def quiet_stdio() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # C-level writes and os.write(1, ...) floods go nowhere
        os.dup2(devnull, fd)
    os.close(devnull)
    # fresh Python streams: the inherited ones may hold locks taken by threads that did not survive fork
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 (on /dev/null: no descriptor beyond 0-3)
    sys.stdout = sys.stderr = open(1, "w", closefd=False)  # noqa: SIM115


def no_new_privs() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")


SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(os.uname().machine if LINUX else "")
SIGCHLD = 17


class Namespaces:
    """Fresh PID, net and IPC namespaces for each child the fork server forks: a fork by clone(2)
    with CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC makes the child its PID namespace's init (when
    it ends, the kernel kills whatever it started) and leaves the fork server where it was (no
    setns back, which a user namespace could not do), so its pid is the one the parent sees.
    Python's own fork hooks run around it, as os.fork runs them."""

    FLAGS = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC

    def __init__(self, missing: dict[str, str]):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.available = False
        try:
            if SYS_CLONE is None:
                raise OSError(errno.ENOSYS, f"no clone(2) number known for {os.uname().machine}")
            pid = self.fork()
            if pid == 0:
                os._exit(0)
            self.available = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        except OSError as e:
            missing["pid namespace"] = (
                f"clone(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC) refused ({e.strerror}; it needs root or an "
                "unprivileged user namespace): what a child starts is killed by process group only, a child keeps "
                "the network (less seccomp's socket ban) and the machine's System V IPC (less seccomp's ban), and "
                "its folder has no size cap beyond RLIMIT_FSIZE per file"
            )

    def fork(self) -> int:
        """os.fork, with the child in namespaces of its own."""
        api = ctypes.pythonapi
        api.PyOS_BeforeFork()
        pid = self.libc.syscall(ctypes.c_long(SYS_CLONE), ctypes.c_long(SIGCHLD | self.FLAGS), ctypes.c_long(0),
                                ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))  # fmt: skip
        if pid == 0:
            api.PyOS_AfterFork_Child()
            return 0
        error = ctypes.get_errno()
        api.PyOS_AfterFork_Parent()
        if pid < 0:
            raise OSError(error, os.strerror(error))
        return pid


def enter_user_namespace(missing: dict[str, str]) -> bool:
    """Not root, in the fresh warm worker before it starts a thread: a user namespace of its own,
    its uid and gid mapped to themselves, in which it may unshare PID, net, IPC and mount
    namespaces for its children as root does. False, with the reason in `missing`, where the
    kernel allows no unprivileged user namespaces."""
    uid, gid = os.getuid(), os.getgid()
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        check(libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    except OSError as e:
        missing["user namespace"] = (
            f"no unprivileged user namespace ({e}; kernel.unprivileged_userns_clone, user.max_user_namespaces or "
            "an AppArmor rule forbids it): without root, no PID, net or IPC namespace either"
        )
        return False
    return True


def drop_capabilities() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    check(libc.capset(header, (ctypes.c_uint32 * 6)()), "capset (drop every capability)")


def private_folder(folder: str, size_mb: int, uid: int) -> None:
    """In the child, before it drops root: a mount namespace of its own, where its job folder
    becomes a tmpfs of `size_mb` (what the parent wrote there copied in, owned by `uid`) and
    /dev/shm an empty tmpfs of its own (POSIX shared memory reaches no one). Both vanish with it."""
    files = {}
    for parent, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder)] = f.read()
    libc = ctypes.CDLL(None, use_errno=True)
    check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    options = f"size={size_mb}m,mode=0700,uid={uid},gid={uid}".encode()
    check(libc.mount(b"tmpfs", folder.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), f"tmpfs on {folder}")
    if os.path.isdir("/dev/shm"):
        check(libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64k,mode=0700"), "/dev/shm")
    for relative, data in files.items():
        path = os.path.join(folder, relative)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    hand_over(folder, uid)
