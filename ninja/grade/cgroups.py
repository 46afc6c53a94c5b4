"""A cgroup per grading job (Linux): each slot's fair share of the CPU, memory and processes, and
every process a job started killed as a whole when it ends.

The fork server opens one run folder per grading run (`ninja-grade-<pid>-<random>`) below its own
cgroup, in the cgroup v2 hierarchy where cpu, memory and pids are there to delegate (as root, or a
delegated subtree without root), else in the v1 hierarchies of cpu, memory and pids where they are
mounted and writable. It holds a lock (flock) on the run folder for its whole life: a run folder
whose lock is free belongs to a grader that died (SIGKILL), and the next run sweeps it (kills what
is left in it, removes it). Per job, a folder `job<id>` with its limits: cpu.max (v1
cpu.cfs_quota_us) the slot's share of the cores, memory.max (v1 memory.limit_in_bytes) with no swap
beyond it, pids.max. The child joins it itself, before any learner code runs (`join`); when the
fork server has reaped the child, the job's folder is killed (v2 cgroup.kill; v1 SIGKILL to every
pid in cgroup.procs until none is left) and removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import time
from dataclasses import dataclass, field

from ninja.grade import locks

NEEDED = ("cpu", "memory", "pids")
PREFIX = "ninja-grade-"
PERIOD_US = 100_000
OPTIONAL = ("memory.swap.max", "memory.memsw.limit_in_bytes", "memory.oom.group")  # no swap, or an older kernel
SETTLE_SECONDS = 2.0  # how long a killed job's processes may take to leave its folder


@dataclass(frozen=True)
class Share:
    """One job's part of the machine: `cores` CPUs' worth of time, `memory` bytes, `processes`."""

    cores: float
    memory: int
    processes: int


def fair_share(slots: int, memory_mb: int, resident: int, processes: int) -> Share:
    """The cores this process may run on, shared among the slots, and at least one: with more
    slots than cores, a cap below one core would slow a single-threaded honest child even while
    the other slots idle, and the equal weights of the jobs' cgroups share the cores among the busy
    ones anyway. Memory: the job's limit (all its processes together) plus the pages it may copy
    from the warm worker (`resident` bytes), never more than the machine's memory over the slots."""
    slots = max(1, slots)
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return Share(max(1.0, usable_cores() / slots), min(memory_mb * 2**20 + resident, physical // slots), processes)


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def resident_bytes() -> int:
    """What this process has resident now (the warm worker: torch imported)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class Cgroups:
    """The run's folders, by controller (v2: one folder for all three), and the jobs' folders."""

    version: int
    runs: dict[str, str]  # controller -> the run's folder in its hierarchy
    made: list[str] = field(default_factory=list)  # the run folders made, to remove
    locks: list[int] = field(default_factory=list)  # flocked descriptors of the run folders
    jobs: dict[str, list[str]] = field(default_factory=dict)  # job key -> its folders

    @classmethod
    def open(cls, missing: dict[str, str], needed: tuple[str, ...] = NEEDED) -> Cgroups | None:
        """The run's cgroups, or None with what holds instead in `missing["cgroups"]`."""
        v2, v1 = hierarchies(needed)
        tried = []
        if v2:
            try:
                return cls.open_v2(v2, needed)
            except OSError as e:
                tried.append(f"cgroup v2 ({said(e)})")
        else:
            tried.append(f"cgroup v2 has no {', '.join(needed)} to delegate here")
        if len(v1) == len(needed):
            try:
                return cls.open_v1(v1)
            except OSError as e:
                tried.append(f"cgroup v1 ({said(e)})")
        elif v1:
            tried.append(f"cgroup v1 has only {', '.join(sorted(v1))}")
        missing["cgroups"] = no_cgroups_note("; ".join(tried))
        return None

    @classmethod
    def open_v2(cls, own: tuple[str, str], needed: tuple[str, ...]) -> Cgroups:
        """Below the first folder from our own cgroup up to the hierarchy's root that delegates the
        controllers and is ours to write (a folder with processes in it cannot: not our own, unless root)."""
        folder, top = own
        last = OSError(errno.ENOENT, "no cgroup folder to use")
        while True:
            run = cls(2, {})
            try:
                delegate(folder, needed)
                path = run.make_run(folder)
                run.runs = dict.fromkeys(needed or ("",), path)
                delegate(path, needed)
                if run.can_join():
                    run.weigh()
                    return run
                last = OSError(errno.EACCES, f"a child cannot join a cgroup below {folder}")
            except OSError as e:
                last = e
            run.close()
            if folder == top:
                raise last
            folder = os.path.dirname(folder)

    @classmethod
    def open_v1(cls, folders: dict[str, str]) -> Cgroups:
        run = cls(1, {})
        name = run_name()
        try:
            for controller, folder in folders.items():
                same = next((r for c, r in run.runs.items() if folders[c] == folder), None)  # co-mounted
                run.runs[controller] = same or run.make_run(folder, name)
            if not run.can_join():
                raise OSError(errno.EACCES, "a child cannot join the cgroups made")
        except OSError:
            run.close()
            raise
        run.weigh()
        return run

    def weigh(self) -> None:
        """The run weighs as much as a busy process per core beside the machine's other work (a
        cgroup weighs as one process by default, however many slots run in it)."""
        name, default = ("cpu.weight", 100) if self.version == 2 else ("cpu.shares", 1024)
        path = os.path.join(self.runs.get("cpu", "/nonexistent"), name)
        if os.path.exists(path):
            with contextlib.suppress(OSError):
                write(path, str(default * usable_cores()))

    def make_run(self, folder: str, name: str = "") -> str:
        """The run's folder below `folder`, locked for as long as this process lives; stale run
        folders beside it swept first."""
        sweep(folder)
        path = os.path.join(folder, name or run_name())
        os.mkdir(path, 0o755)
        self.made.append(path)
        self.locks.append(locks.hold(path))
        return path

    def line(self) -> str:
        return f"cgroup v{self.version} per slot: {', '.join(c for c in self.runs if c)}"

    def make_job(self, key: str, share: Share) -> list[str]:
        """The job's folders with its share set; the files its child writes itself into (`join`)."""
        folders = sorted({os.path.join(run, f"job{key}") for run in self.runs.values()})
        self.jobs[key] = folders
        for folder in folders:
            os.mkdir(folder, 0o755)
        for controller, name, value in limits(self.version, share):
            path = os.path.join(self.runs.get(controller, "/nonexistent"), f"job{key}", name)
            if controller in self.runs and (name not in OPTIONAL or os.path.exists(path)):
                write(path, value)  # a limit that cannot be set fails the job: it never runs unconfined
        return [os.path.join(folder, "cgroup.procs") for folder in folders]

    def end_job(self, key: str) -> bool:
        """Kill every process in the job's folders and remove them; False if one could not be removed."""
        folders = self.jobs.pop(key, [])
        kill_all(folders)
        return all([remove(folder) for folder in folders])

    def can_join(self) -> bool:
        """Whether a child can move itself into a job's folders (rootless: the common ancestor's
        cgroup.procs must be ours to write too)."""
        files = self.make_job("probe", Share(1.0, 64 * 2**20, 8))
        pid = os.fork()
        if pid == 0:
            try:
                join(files)
            finally:
                os._exit(0 if all(read_pids(os.path.dirname(f)) for f in files) else 1)
        joined = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        return self.end_job("probe") and joined

    def close(self) -> None:
        """Kill and remove every job's folder, then the run's, and let go of the locks."""
        for key in list(self.jobs):
            self.end_job(key)
        for run in self.made:
            remove(run)
        self.made.clear()
        for fd in self.locks:
            os.close(fd)
        self.locks.clear()


def limits(version: int, share: Share) -> list[tuple[str, str, str]]:
    """(controller, file, value) of a job's limits: memory with no swap beyond it (memsw is memory
    and swap together), v2 killing the whole job when it runs out."""
    quota = max(1000, int(share.cores * PERIOD_US))
    if version == 2:
        return [("cpu", "cpu.max", f"{quota} {PERIOD_US}"), ("memory", "memory.max", str(share.memory)),
                ("memory", "memory.swap.max", "0"), ("memory", "memory.oom.group", "1"),
                ("pids", "pids.max", str(share.processes))]  # fmt: skip
    return [("cpu", "cpu.cfs_period_us", str(PERIOD_US)), ("cpu", "cpu.cfs_quota_us", str(quota)),
            ("memory", "memory.limit_in_bytes", str(share.memory)),
            ("memory", "memory.memsw.limit_in_bytes", str(share.memory)),
            ("pids", "pids.max", str(share.processes))]  # fmt: skip


def join(files: list[str]) -> None:
    """In the child, first of all: into its job's folders (a fork inherits them: every process it starts is there)."""
    for path in files:
        write(path, "0")  # 0: the writing process


def run_name() -> str:
    return f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"


def write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def read_pids(folder: str) -> list[int]:
    """The processes in a cgroup folder this process can see (one in a PID namespace above ours
    reads as 0, which kill() would take for our own process group: left out)."""
    try:
        with open(os.path.join(folder, "cgroup.procs")) as f:
            return [pid for pid in map(int, f.read().split()) if pid > 0]
    except (OSError, ValueError):
        return []


def populated(folder: str) -> bool:
    try:
        with open(os.path.join(folder, "cgroup.procs")) as f:
            return bool(f.read().split())
    except OSError:
        return False


def kill_all(folders: list[str]) -> None:
    """v2: cgroup.kill; else (v1, or a kernel before 5.14) SIGKILL every pid in cgroup.procs until
    none is left (a process forking as it is killed is killed next round; pids.max bounds them)."""
    for folder in folders:
        kill_file = os.path.join(folder, "cgroup.kill")
        if os.path.exists(kill_file):
            with contextlib.suppress(OSError):
                write(kill_file, "1")
    settle = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < settle:
        pids = {pid for folder in folders for pid in read_pids(folder)}
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.001)


def remove(folder: str) -> bool:
    """rmdir, retried while the last killed processes leave it."""
    settle = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            os.rmdir(folder)
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > settle:
                return False
            time.sleep(0.002)


def sweep(folder: str) -> None:
    """Run folders below `folder` whose grader died: what is left in them killed, removed."""
    for run in locks.abandoned(folder, PREFIX):
        with contextlib.suppress(OSError):
            jobs = [entry.path for entry in os.scandir(run) if entry.is_dir()]
            kill_all([*jobs, run])
            if any(populated(folder) for folder in [*jobs, run]):
                continue  # processes in a PID namespace we cannot see: the next run tries again
            for job in jobs:
                remove(job)
            remove(run)


def delegate(folder: str, needed: tuple[str, ...]) -> None:
    """The controllers enabled for `folder`'s children (OSError where they cannot be)."""
    with open(os.path.join(folder, "cgroup.controllers")) as f:
        available = f.read().split()
    if not set(needed) <= set(available):
        raise OSError(errno.ENOTSUP, f"{folder} does not have {', '.join(c for c in needed if c not in available)}")
    with open(os.path.join(folder, "cgroup.subtree_control")) as f:
        enabled = f.read().split()
    wanted = [c for c in needed if c not in enabled]
    if wanted:
        write(os.path.join(folder, "cgroup.subtree_control"), " ".join(f"+{c}" for c in wanted))


def hierarchies(needed: tuple[str, ...]) -> tuple[tuple[str, str] | None, dict[str, str]]:
    """(this process's cgroup v2 folder and the hierarchy's mount point, or None where no v2
    hierarchy is mounted; for v1, each needed controller's folder this process is in)."""
    try:
        with open("/proc/self/cgroup") as f:
            own = [line.rstrip("\n").split(":", 2) for line in f if line.count(":") >= 2]
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split() for line in f]
    except OSError:
        return None, {}
    v2, v1 = None, {}
    for fields in mounts:
        dash = fields.index("-")
        root, point, kind, options = fields[3], fields[4], fields[dash + 1], fields[dash + 3].split(",")
        if kind == "cgroup2":
            path = next((p for number, c, p in own if number == "0" and c == ""), None)
            if path is not None and path.startswith(root) and v2 is None:
                v2 = (os.path.normpath(point + "/" + path[len(root) :]), point)
        elif kind == "cgroup":
            for controller in set(options) & set(needed):
                path = next((p for _, c, p in own if controller in c.split(",")), None)
                if path is not None and path.startswith(root):
                    v1[controller] = os.path.normpath(point + "/" + path[len(root) :])
    return v2, v1


def said(error: OSError) -> str:
    return f"{error.strerror or error}: {error.filename}" if error.filename else str(error.strerror or error)


def no_cgroups_note(why: str) -> str:
    """What holds instead of a cgroup per job, after `why` there is none."""
    return (
        f"{why}: slots share the CPU by the scheduler alone; what holds instead: a job's "
        "deadline leaves out the time it waited for a CPU (up to 3 timeouts), RLIMIT_CPU and RLIMIT_AS per "
        "process, RLIMIT_NPROC per uid, every process of a job killed with its PID namespace, its folder a tmpfs "
        "with a size"
    )
