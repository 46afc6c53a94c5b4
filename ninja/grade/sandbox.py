"""Run untrusted work in processes forked from a warm worker, with limits.

The grading process imports torch once, then forks a *fork server* before it computes anything
secret (references, other submissions' results). The fork server forks one child per job; each
child gets its own process group, a CPU-time limit, a memory limit on top of what torch already
mapped, stdout/stderr on /dev/null, and no network where the OS allows. What a child sends back is
raw bytes on a pipe that only the parent reads; the parent never unpickles them.

Parent <-> fork server: one datagram per message on a Unix socketpair (JSON), the job's pipe
passed as a file descriptor (SCM_RIGHTS), so a child never sees another job's pipe.
"""

from __future__ import annotations

import ctypes
import faulthandler
import gc
import json
import os
import resource
import select
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
MAX_RESULT_BYTES = 256 * 2**20  # a child sending more than this is cut off


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0  # wall-clock seconds per job
    cpu_seconds: int = 30
    memory_mb: int = 1024  # on top of what the warm worker had mapped


@dataclass
class Outcome:
    """What the parent saw of one job: the bytes the child sent and how it ended."""

    job: dict
    data: bytes
    wall: float
    timed_out: bool = False
    exit_code: int | None = None  # os._exit(code) / normal exit
    signal: int | None = None  # killed by this signal (SIGABRT, SIGSEGV, SIGXCPU, SIGKILL, ...)
    truncated: bool = False  # sent more than MAX_RESULT_BYTES


def network_isolation() -> str | None:
    """Cut this (single-threaded, freshly forked) process off the network: None when done, or why not."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) == 0 or libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
            return None
        return f"unshare(CLONE_NEWNET) not permitted here ({os.strerror(ctypes.get_errno())})"
    except (OSError, AttributeError) as e:
        return f"unshare is not available on this system ({e})"


def mapped_bytes() -> int:
    """Virtual memory this process has mapped already (torch reserves a lot of it)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def confine(limits: Limits) -> None:
    """In the child, before any learner code: own process group, limits, quiet fds."""
    os.setpgid(0, 0)
    faulthandler.disable()  # a crash is the parent's to report, not a traceback on the grader's terminal
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = mapped_bytes() + limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # C-level writes and os.write(1, ...) floods go nowhere
        os.dup2(devnull, fd)
    os.close(devnull)
    # fresh Python streams: the inherited ones may hold locks taken by threads that did not survive fork
    sys.stdin = open(os.devnull)  # noqa: SIM115
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def send_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


Work = Callable[[dict, int], None]  # (job, fd to write the result to), runs in the child


def serve(sock: socket.socket, work: Work, limits: Limits) -> None:
    """The fork server's loop: fork a child per request, report each child's pid and exit status."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    gc.freeze()  # children then do not touch (and copy) every inherited object's page when they collect
    children: set[int] = set()
    sock.setblocking(False)
    while True:
        reap(sock, children)
        try:
            message, fds, _, _ = socket.recv_fds(sock, 65536, 1)
        except BlockingIOError:
            select.select([sock], [], [], 0.002)  # wakes at once for a job; reaps every 2 ms meanwhile
            continue
        if not message:  # the parent closed its end: finish the running children, then leave
            break
        job = json.loads(message)
        pid = os.fork()
        if pid == 0:
            sock.close()
            run_child(job, fds[0], work, limits)
        os.close(fds[0])
        children.add(pid)
        sock.send(json.dumps({"started": job["id"], "pid": pid}).encode())
    while children:
        reap(sock, children, block=True)


def reap(sock: socket.socket, children: set[int], block: bool = False) -> None:
    for pid in list(children):
        done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        if done:
            children.discard(pid)
            ended = {"ended": pid, "exit_code": None, "signal": None}
            if os.WIFSIGNALED(status):
                ended["signal"] = os.WTERMSIG(status)
            else:
                ended["exit_code"] = os.WEXITSTATUS(status)
            try:
                sock.send(json.dumps(ended).encode())
            except OSError:
                pass  # the parent is gone


def run_child(job: dict, fd: int, work: Work, limits: Limits) -> None:
    code = 0
    try:
        confine(limits)
        work(job, fd)
    except BaseException:  # noqa: BLE001 (whatever happens, this process must not go back to serving)
        code = 70
    finally:
        os._exit(code)


class ForkServer:
    """Start once (after importing torch, before computing anything secret); then `run` jobs."""

    def __init__(self, work: Work, limits: Limits):
        self.limits = limits
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:
            self.sock.close()
            code = 0
            try:
                serve(theirs, work, limits)
            except BaseException:  # noqa: BLE001
                code = 70
            os._exit(code)
        theirs.close()

    def close(self) -> None:
        if self.pid:
            self.sock.close()
            os.waitpid(self.pid, 0)
            self.pid = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def run(self, jobs: Iterable[dict], parallel: int) -> Iterator[Outcome]:
        """Run every job (a JSON-able dict with a unique "id"), at most `parallel` at once, and
        yield each Outcome as it ends: every job gets exactly one."""
        pending = list(jobs)
        pending.reverse()
        running: dict[int, _Running] = {}  # by the read end of its pipe
        by_pid: dict[int, _Running] = {}
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ)
        try:
            while pending or running:
                while pending and len(running) < parallel:
                    job = pending.pop()
                    read_end, write_end = os.pipe()
                    socket.send_fds(self.sock, [json.dumps(job).encode()], [write_end])
                    os.close(write_end)
                    running[read_end] = _Running(job, time.monotonic() + self.limits.timeout)
                    selector.register(read_end, selectors.EVENT_READ)
                now = time.monotonic()
                timeout = max(0.0, min(r.deadline for r in running.values()) - now) if running else None
                for key, _ in selector.select(timeout):
                    if key.fileobj is self.sock:
                        self.message(json.loads(self.sock.recv(65536)), running, by_pid)
                    else:
                        self.read(key.fd, running[key.fd], selector)
                now = time.monotonic()
                for fd, job in list(running.items()):
                    if job.pid and not job.timed_out and now >= job.deadline:
                        job.timed_out = True
                        kill_group(job.pid)
                    if job.finished:
                        del running[fd]
                        by_pid.pop(job.pid, None)
                        if not job.eof:
                            selector.unregister(fd)
                        os.close(fd)
                        yield job.outcome(now)
        finally:
            for fd, job in running.items():  # interrupted: leave nothing behind
                if job.pid:
                    kill_group(job.pid)
                os.close(fd)
            selector.close()

    def message(self, message: dict, running: dict, by_pid: dict) -> None:
        if "started" in message:
            job = next(r for r in running.values() if r.job["id"] == message["started"])
            job.pid = message["pid"]
            by_pid[job.pid] = job
        elif message.get("ended") in by_pid:
            job = by_pid[message["ended"]]
            job.ended, job.exit_code, job.signal = True, message["exit_code"], message["signal"]
            kill_group(job.pid)  # grandchildren it left behind still hold the pipe open

    def read(self, fd: int, job: _Running, selector) -> None:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            job.eof = True
            selector.unregister(fd)
        elif len(job.data) + len(chunk) > MAX_RESULT_BYTES:
            job.truncated = True
            kill_group(job.pid)
        else:
            job.data += chunk


def kill_group(pid: int | None) -> None:
    if pid:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class _Running:
    def __init__(self, job: dict, deadline: float):
        self.job, self.deadline, self.started = job, deadline, time.monotonic()
        self.pid: int | None = None
        self.data = bytearray()
        self.eof = self.ended = self.timed_out = self.truncated = False
        self.exit_code: int | None = None
        self.signal: int | None = None

    @property
    def finished(self) -> bool:
        # a timed-out job whose pipe a grandchild still holds is finished once its child is reaped
        return self.ended and (self.eof or self.timed_out or self.truncated)

    def outcome(self, now: float) -> Outcome:
        return Outcome(
            self.job, bytes(self.data), now - self.started, self.timed_out, self.exit_code, self.signal, self.truncated
        )
