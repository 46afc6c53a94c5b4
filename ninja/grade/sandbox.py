"""Run untrusted work in processes forked from a warm worker, confined, with limits.

The warm worker is a fresh `python -I` exec with a minimal environment and no grader arguments
(so neither CI secrets nor the output path are in any child's memory or /proc/self): it imports
torch, warms up, builds the confinement policy once (ninja/grade/confine.py) and serves as the
*fork server*: one child per job, each in fresh net, PID and IPC namespaces (through a user
namespace of the worker's own when the grader is not root), confined before the learner's code
runs; before anyone is graded, one probe child must start and report (`ForkServer.prove`). What a child sends back is raw bytes in a file of its job's (a memfd) that only the parent reads;
the parent never unpickles them, caps them and keeps each job's deadline itself. A fork server that
dies or stops is replaced; the jobs it was running are reported as errors, the rest go on.

Parent <-> fork server: one datagram per message on a Unix socketpair (JSON), the job's reply file
passed as a file descriptor (SCM_RIGHTS), so a child never sees another job's.
"""

from __future__ import annotations

import atexit
import faulthandler
import gc
import importlib
import json
import os
import resource
import select
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ninja.grade import cgroups
from ninja.grade.confine import RESULT_FD

MAX_RESULT_BYTES = 8 * 2**20  # a child sending more than this is cut off
FLOOD_CHECK = 0.1  # how often the parent looks at the size of the running jobs' replies (seconds)
MAX_MESSAGE = 1 << 16
STARTUP_SECONDS = 300.0  # importing torch and warming up, on a loaded machine
SERVER_SECONDS = 10.0
BACKSTOP = 3.0  # a job's deadline moves for the time it waited for a CPU, to at most this many timeouts
MAX_REPLACEMENTS = 20  # a fork server that does not answer a job in this long is stopped: replaced
BOOT = (  # the import path first (torch and ninja import while the parent starts up), then the job
    "import json, socket, sys\n"
    "sock = socket.socket(fileno=int(sys.argv[1]))\n"
    "sys.path[:] = json.loads(sock.recv(1 << 20))\n"
    "from ninja.grade.sandbox import worker_main\n"
    "worker_main(sock)\n"
)
EARLY_IMPORTS = ("torch", "ninja.grade.child", "ninja.grade.confine", "ninja.registry")


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0  # wall-clock seconds per job, kept by the parent
    cpu_seconds: int = 30
    memory_mb: int = 1024  # on top of what the warm worker had mapped
    file_mb: int = 64  # the largest file a child may write (in its own job folder)


@dataclass
class Outcome:
    """What the parent saw of one job: the bytes the child sent and how it ended."""

    job: dict
    data: bytes
    wall: float
    timed_out: bool = False
    exit_code: int | None = None  # os._exit(code) / normal exit
    signal: int | None = None  # killed by this signal (SIGSEGV, SIGKILL, ...)
    truncated: bool = False  # sent more than MAX_RESULT_BYTES
    cpu: float = 0.0  # CPU seconds the child used
    lost: str | None = None  # the fork server died or stopped while this job ran


def send_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# ---- in the warm worker ------------------------------------------------------------------------


def worker_main(sock: socket.socket) -> None:
    """The fresh exec's entry point: import; once the parent says what to grade, warm up and build
    the policy while it reads the submissions; preload what they import, then serve."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
        from ninja.grade import confine

        missing: dict[str, str] = {}
        raise_open_files()  # a pidfd per running child: --jobs up to 1000
        rootless = confine.LINUX and os.geteuid() != 0
        user_namespace = rootless and confine.enter_user_namespace(missing)  # before any thread starts
        for module in EARLY_IMPORTS:
            importlib.import_module(module)

        raw = sock.recv(1 << 20)
        if not raw:  # the parent stopped before it configured us (a usage error)
            os._exit(0)
        config = json.loads(raw)
        work = named(config["work"])
        named(config["prepare"])(config["prepare_args"])  # while the parent reads the submissions
        policy = confine.Policy.build(config["hidden"])
        policy.missing |= missing
        policy.user_namespace = user_namespace
        if policy.as_root:
            policy.uid_base = confine.claim_uids()  # held while this warm worker lives
            confine.expose_libraries(policy.read_only, policy.missing)
        namespaces = confine.Namespaces(policy.missing) if (policy.as_root or user_namespace) else None
        policy.namespaces = bool(namespaces and namespaces.available)
        if confine.LINUX and not policy.namespaces and "pid namespace" not in policy.missing:
            policy.missing["pid namespace"] = "no user namespace to hold one: see above"
        if confine.LINUX:
            policy.cgroups = cgroups.Cgroups.open(policy.missing)
        try:
            modules = config.get("modules")
            if modules is None:  # what the submissions import, once the parent has read them
                raw = sock.recv(1 << 20)
                modules = json.loads(raw)["modules"] if raw else None  # none: the parent stopped first
            if modules is not None:
                named(config["preload"])(modules)
                sock.send(json.dumps({"ready": policy.layers(), "missing": policy.missing}).encode())
                serve(sock, work, Limits(**config["limits"]), policy, namespaces if policy.namespaces else None)
        finally:
            if policy.cgroups is not None:
                policy.cgroups.close()
    except BaseException as e:  # noqa: BLE001 (the parent reports it)
        try:
            sock.send(json.dumps({"failed": f"{type(e).__name__}: {e}"[:2000]}).encode())
        except OSError:
            pass
        code = 70
    os._exit(code)


def raise_open_files() -> None:
    """The soft limit on open files up to the hard one (a finite one: the kernel takes no infinite)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (max(soft, hard if hard != resource.RLIM_INFINITY else 1 << 16), hard)
        )
    except (ValueError, OSError):
        pass


def named(function: str):
    """The function a "module:function" name names, its module imported."""
    module, _, name = function.rpartition(":")
    return getattr(importlib.import_module(module), name)


def serve(sock: socket.socket, work, limits: Limits, policy, namespaces) -> None:
    """The fork server's loop: fork a child per request, in a cgroup of its own where there are
    cgroups, and report each child's pid and exit status."""
    gc.freeze()  # children then do not touch (and copy) every inherited object's page when they collect
    children: dict[int, str] = {}  # pid -> its job's cgroup key
    handles: dict[int, int] = {}  # pid -> a pidfd, readable once it has ended (where Linux has pidfds)
    resident = cgroups.resident_bytes()
    sock.setblocking(False)
    while True:
        reap(sock, children, policy.cgroups, handles)
        try:
            message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 1)
        except BlockingIOError:
            # wakes at once for a job or a child that ended; without pidfds, reaps every 2 ms meanwhile
            waiting = select.poll()  # (select() takes no descriptor past 1023: --jobs may be 1000)
            for fd in [sock.fileno(), *handles.values()]:
                waiting.register(fd, select.POLLIN)
            waiting.poll(2 if len(handles) < len(children) else None)
            continue
        if not message:  # the parent closed its end: finish the running children, then leave
            break
        job = json.loads(message)
        if policy.cgroups is not None:
            share = cgroups.fair_share(job.get("slots", 1), limits.memory_mb, resident, policy.processes)
            try:
                job["cgroups"] = policy.cgroups.make_job(str(job["id"]), share)
            except OSError as e:  # the child raises it before anything runs: an error for this job, never unconfined
                job["cgroups_error"] = f"its cgroup could not be made: {e}"
        pid = namespaces.fork() if namespaces else os.fork()
        if pid == 0:
            run_child(job, fds[0], work, limits, policy)
        os.close(fds[0])
        children[pid] = str(job["id"])
        handle = pidfd(pid)
        if handle is not None:
            handles[pid] = handle
        sock.send(json.dumps({"started": job["id"], "pid": pid}).encode())
    while children:
        reap(sock, children, policy.cgroups, handles, block=True)


def pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when `pid` ends; None where Linux has none (before 5.3)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def reap(sock: socket.socket, children: dict[int, str], job_cgroups, handles: dict[int, int],
         block: bool = False) -> None:  # fmt: skip
    """Each child that ended: its job's cgroup killed as a whole and removed, then reported."""
    for pid in list(children):
        done, status, usage = os.wait4(pid, 0 if block else os.WNOHANG)
        if done:
            key = children.pop(pid)
            if pid in handles:
                os.close(handles.pop(pid))
            if job_cgroups is not None:
                job_cgroups.end_job(key)
            ended = {"ended": pid, "exit_code": None, "signal": None, "cpu": usage.ru_utime + usage.ru_stime}
            if os.WIFSIGNALED(status):
                ended["signal"] = os.WTERMSIG(status)
            else:
                ended["exit_code"] = os.WEXITSTATUS(status)
            try:
                sock.send(json.dumps(ended).encode())
            except OSError:
                pass  # the parent is gone


def run_child(job: dict, fd: int, work, limits: Limits, policy) -> None:
    code = 0
    try:
        faulthandler.disable()  # a crash is the parent's to report, not a traceback on the grader's terminal
        if job.get("probe"):
            probe(job, fd, limits, policy)
        else:
            policy.apply(job, fd, limits)
            work(job, 3)
    except BaseException:  # noqa: BLE001 (whatever happens, this process must not go back to serving)
        code = 70
    finally:
        os._exit(code)


def probe(job: dict, fd: int, limits: Limits, policy) -> None:
    """The child that runs before anyone is graded (no learner code in it): confined as every child
    is, it writes and reads its folder and lists every library folder it may read (what a lazy
    import needs), then says what failed, as JSON, in its reply file."""
    problems = []
    try:
        policy.apply(job, fd, limits)
    except BaseException as e:  # noqa: BLE001 (reported, then this child ends)
        problems.append(f"confining it failed: {type(e).__name__}: {e}")
        fd = RESULT_FD if is_open(RESULT_FD) else fd
    else:
        fd = RESULT_FD
        try:
            with open("probe.txt", "w") as f:
                f.write("ok")
            with open(os.path.join(job["dir"], "probe.txt")) as f:
                f.read()
        except OSError as e:
            problems.append(f"its job folder {job['dir']} is not usable by its uid: {e.strerror}")
        for folder in (path for path, is_folder in policy.read_only if is_folder):
            try:
                os.listdir(folder)
            except OSError as e:
                problems.append(f"library {folder} is not readable by its uid: {e.strerror}")
    send_all(fd, json.dumps({"problems": problems}).encode())


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


# ---- in the parent -----------------------------------------------------------------------------


class ServerFailed(RuntimeError):
    """The warm worker could not start (an import failed, or it died while warming up), or no
    sandboxed child could start and report: the message names the cause and its fix."""


FIX_LIBRARY = (
    "the sandbox's uid cannot read Python's own library (an interpreter under a private home, such as pyenv "
    "in a 0700 home, with the grader as root): modules imported lazily would fail in every child. Fix: make "
    "it readable (chmod o+rx on that folder and each folder above it), or grade with a Python installed "
    "system-wide, or as the user who owns it"
)
FIX_FOLDER = "set TMPDIR to a folder every user can search (chmod o+x on it and each folder above it), e.g. /tmp"


def worker_path() -> list[str]:
    """The import path, less the folder the grader runs in (`python -m` puts it first: it may hold
    the submissions), unless ninja is imported from there."""
    here = os.path.realpath(os.getcwd())
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    return [p for p in sys.path if p and (os.path.realpath(p) != here or os.path.dirname(package) == here)]


class ForkServer:
    """Start early (the worker imports torch while the parent does), `configure` (it warms up while
    the parent reads the submissions), `preload` what they import; then `run` jobs. `work`,
    `prepare` and `preload` are "module:function" names the fresh worker imports."""

    def __init__(self):
        """Starts the worker at once: it imports torch while the parent goes on; `configure` next."""
        self.config: dict = {}
        self.limits = Limits()
        self.layers: list[str] = []
        self.missing: dict[str, str] = {}
        self.replaced = 0
        self.process: subprocess.Popen | None = None
        self.start()
        atexit.register(self.abandon)  # a usage error after this: the worker must not linger

    def abandon(self) -> None:
        if self.process is not None and not self.config:
            self.kill()

    def configure(
        self, work: str, limits: Limits, prepare: str, prepare_args, preload: str, hidden: Iterable[str] = ()
    ) -> None:
        """What to run and how: the worker runs `prepare(prepare_args)` at once, then waits for `preload`."""
        self.limits = limits
        self.config = {
            "work": work, "prepare": prepare, "prepare_args": prepare_args, "hidden": list(hidden),
            "preload": preload,
            "limits": {"timeout": limits.timeout, "cpu_seconds": limits.cpu_seconds, "memory_mb": limits.memory_mb,
                       "file_mb": limits.file_mb},
        }  # fmt: skip
        self.tell(self.config)

    def preload(self, modules: list[str]) -> None:
        """The worker's last step before it serves: `preload(modules)` (the modules the submissions import)."""
        self.config["modules"] = modules
        self.tell({"modules": modules})

    def tell(self, message: dict) -> None:
        """A message to the worker; if it has died (warming up), wait_ready says why, as a ServerFailed."""
        try:
            self.sock.send(json.dumps(message).encode())
        except (BrokenPipeError, ConnectionResetError):
            pass

    def start(self) -> None:
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", BOOT, str(theirs.fileno())],
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                 "OPENBLAS_NUM_THREADS": "1"},
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd="/", start_new_session=True,
        )  # fmt: skip
        theirs.close()
        self.sock.send(json.dumps(worker_path()).encode())
        self.ready = False

    def wait_ready(self) -> None:
        """Block until the worker has warmed up; ServerFailed if it cannot."""
        if self.ready:
            return
        ready, _, _ = select.select([self.sock], [], [], STARTUP_SECONDS)
        message = self.sock.recv(MAX_MESSAGE) if ready else b""
        answer = json.loads(message) if message else {"failed": "the grading worker did not start"}
        if "ready" not in answer:
            self.kill()
            raise ServerFailed(answer.get("failed", "the grading worker did not start"))
        self.layers, self.missing, self.ready = answer["ready"], answer["missing"], True

    def kill(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
            self.process = None
        self.sock.close()

    def close(self) -> None:
        if "modules" not in self.config:  # never told what to grade, or stopped while reading the submissions
            self.kill()
            return
        if self.process is not None:
            self.sock.close()
            try:
                self.process.wait(timeout=self.limits.timeout + SERVER_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self.process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def replace(self) -> None:
        self.kill()
        self.replaced += 1
        if self.replaced > MAX_REPLACEMENTS:
            raise ServerFailed(f"the grading worker died {self.replaced} times: stopping")
        self.start()
        self.tell(self.config)
        self.wait_ready()

    def prove(self, folder: str) -> None:
        """Before anyone is graded: one child, confined in `folder` as every child is, must start and
        report. ServerFailed naming the cause and its fix when it does not."""
        job = {"id": -1, "probe": True, "dir": folder}
        (outcome,) = self.run([job], 1)
        try:
            problems = json.loads(outcome.data)["problems"]
        except (ValueError, KeyError, TypeError):
            how = f"signal {outcome.signal}" if outcome.signal else f"exit code {outcome.exit_code}"
            problems = [f"it ended ({how}) without a word" + (" after the time limit" if outcome.timed_out else "")]
        if problems:
            fix = FIX_LIBRARY if any(p.startswith("library") for p in problems) else (
                FIX_FOLDER if any("job folder" in p for p in problems) else "grade with --isolation best, "
                "or report this with the line above")  # fmt: skip
            raise ServerFailed(f"no sandboxed child could start and report: {'; '.join(problems)}. {fix}")

    def run(self, jobs: Iterable[dict], parallel: int) -> Iterator[Outcome]:
        """Run every job (a JSON-able dict with a unique "id"), at most `parallel` at once, each in
        its own slot (job["slot"]), and yield each Outcome as it ends: every job gets exactly one."""
        self.wait_ready()
        pending = list(jobs)
        pending.reverse()
        running: dict[int, _Running] = {}  # by its reply file
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ)
        free = list(range(parallel - 1, -1, -1))
        ended: list[Outcome] = []
        try:
            while pending or running or ended:
                while pending and free:
                    job = pending.pop()
                    job["slot"], job["slots"] = free.pop(), parallel
                    running_job = self.send(job)
                    if running_job is None:  # the server is gone before it took the job
                        free.append(job["slot"])
                        pending.append(job)
                        yield from self.lost(running, selector, free, "", pending)
                        selector.register(self.sock, selectors.EVENT_READ)
                        continue
                    running[running_job.fd] = running_job
                while ended:  # handed out once the slots they freed run again: the caller never delays a job
                    yield ended.pop(0)
                if not running:
                    continue
                now = time.monotonic()
                timeout = min(FLOOD_CHECK, max(0.0, min(r.next_check(now) for r in running.values()) - now))
                dead = False
                for key, _ in selector.select(timeout):
                    if key.fileobj is self.sock:
                        dead |= not self.message(running)
                now = time.monotonic()
                dead |= any(r.server_late(now) for r in running.values())
                if dead:
                    yield from self.lost(running, selector, free, "the grading worker stopped or died", pending)
                    selector.register(self.sock, selectors.EVENT_READ)
                    continue
                for fd, job in list(running.items()):
                    if not job.timed_out and now >= job.deadline and not job.credit_waiting(now, self.limits.timeout):
                        job.timed_out = True
                        kill_group(job.pid)
                    if not job.truncated and os.fstat(fd).st_size > MAX_RESULT_BYTES:  # stopped at once, as before
                        job.truncated = True
                        kill_group(job.pid)
                    if job.finished:
                        ended.append(self.done(fd, running, free, now))
        finally:
            for fd, job in running.items():  # interrupted: leave nothing behind
                kill_group(job.pid)
                os.close(fd)
            selector.close()

    def send(self, job: dict) -> _Running | None:
        reply = reply_file()
        try:
            socket.send_fds(self.sock, [json.dumps(job).encode()], [reply])
        except OSError:
            os.close(reply)
            return None
        return _Running(job, reply, time.monotonic() + self.limits.timeout)

    def done(self, fd: int, running: dict, free: list, now: float) -> Outcome:
        job = running.pop(fd)
        if job.pid and job.ended:  # its group, where no namespace or cgroup took it: nothing it started writes more
            try:  # (reaped a moment ago: the number goes to no other process before the pid counter wraps)
                os.killpg(job.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        job.data = read_reply(fd)
        job.truncated = job.truncated or len(job.data) > MAX_RESULT_BYTES
        os.close(fd)
        free.append(job.job["slot"])
        return job.outcome(now)

    def lost(self, running: dict, selector, free: list, why: str, pending: list) -> Iterator[Outcome]:
        """The fork server died or stopped: kill what it ran and report those jobs; the jobs it
        never started go back in the queue; a new fork server takes over."""
        selector.unregister(self.sock)
        for fd, job in list(running.items()):
            if job.pid is None:
                self.done(fd, running, free, time.monotonic())
                job.job.pop("slot", None)
                pending.append(job.job)
        for job in running.values():
            kill_group(job.pid)
            job.lost, job.ended = why or "the grading worker died", True
        self.replace()
        now = time.monotonic()
        for fd in list(running):
            yield self.done(fd, running, free, now)

    def message(self, running: dict) -> bool:
        """One message from the fork server; False when it has gone."""
        try:
            raw = self.sock.recv(MAX_MESSAGE)
        except OSError:
            return False
        if not raw:
            return False
        message = json.loads(raw)
        if "started" in message:
            job = next((r for r in running.values() if r.job["id"] == message["started"]), None)
            if job is not None:  # its deadline counts from its own start, not from the queue before it
                job.pid, job.started = message["pid"], time.monotonic()
                job.deadline = job.started + self.limits.timeout
        elif "ended" in message:
            job = next((r for r in running.values() if r.pid == message["ended"]), None)
            if job is not None:
                job.ended, job.exit_code, job.signal = True, message["exit_code"], message["signal"]
                job.cpu = float(message.get("cpu") or 0.0)
        return True


def reply_file() -> int:
    """Where a child writes its reply: an unnamed file in memory (memfd; a deleted temporary file
    where there is none). It never fills, so a child writes its whole reply and ends, whatever the
    parent is doing; the parent reads it once the child has been reaped (and every process of its
    job killed with it)."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("ninja-reply", os.MFD_CLOEXEC)
    with tempfile.TemporaryFile() as f:
        return os.dup(f.fileno())


def read_reply(fd: int) -> bytes:
    """The reply's bytes from its start, one more than the most a reply may hold: more means cut off."""
    parts, done = [], 0
    while done <= MAX_RESULT_BYTES:
        part = os.pread(fd, MAX_RESULT_BYTES + 1 - done, done)
        if not part:
            break
        parts.append(part)
        done += len(part)
    return b"".join(parts)


def kill_group(pid: int | None) -> None:
    if pid:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.kill(pid, signal.SIGKILL)  # it may have left its group: it is still its namespace's init
        except (ProcessLookupError, PermissionError):
            pass


class _Running:
    def __init__(self, job: dict, fd: int, deadline: float):
        self.job, self.fd, self.deadline = job, fd, deadline
        self.sent = self.started = time.monotonic()
        self.pid: int | None = None
        self.data = b""
        self.ended = self.timed_out = self.truncated = False
        self.exit_code: int | None = None
        self.signal: int | None = None
        self.cpu = 0.0
        self.lost: str | None = None
        self.credited = 0.0  # seconds of waiting for a CPU already added to its deadline

    def credit_waiting(self, now: float, timeout: float) -> bool:
        """At its deadline: the time it spent waiting for a CPU (others' processes running) is not
        its own, so the deadline moves by that much, up to BACKSTOP times the timeout. Whether it moved."""
        try:
            with open(f"/proc/{self.pid}/schedstat") as f:
                waited = int(f.read().split()[1]) / 1e9  # ns runnable but not running
        except (OSError, ValueError, IndexError, TypeError):
            return False
        more = min(waited - self.credited, self.started + BACKSTOP * timeout - self.deadline)
        if self.pid is None or more < 0.05:
            return False
        self.credited += more
        self.deadline += more
        return True

    def next_check(self, now: float) -> float:
        """When the parent must look at this job again: its deadline, or when the server is late."""
        if self.pid is None:
            return min(self.deadline, self.sent + SERVER_SECONDS)
        return self.deadline if not self.timed_out else self.deadline + SERVER_SECONDS

    def server_late(self, now: float) -> bool:
        """The fork server never said it started this job, or never reaped it once killed: it is stopped."""
        if self.pid is None:
            return now - self.sent > SERVER_SECONDS
        return self.timed_out and not self.ended and now > self.deadline + SERVER_SECONDS

    @property
    def finished(self) -> bool:
        return self.ended

    def outcome(self, now: float) -> Outcome:
        return Outcome(
            self.job, self.data, now - self.started, self.timed_out, self.exit_code, self.signal,
            self.truncated, self.cpu, self.lost,
        )  # fmt: skip
