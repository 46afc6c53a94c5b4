"""Judging, outside the loop that keeps the children's deadlines.

A child's reply is hostile data: judging it (references, engine, blame) can be slow or large on
purpose. So the parent never judges: a judging process, forked from the parent once everything is
read and prepared (it inherits the plan and the parsed submissions), judges one reply at a time
under a time limit (an alarm that stops the judge between two operations; a reply's arrays are
bounded, so no one operation is long) and a memory limit (RLIMIT_AS on the judging process); it
stays warm, so what one judgment computes (the cut forward of blame, torch's first calls) serves
the next. A judging process that dies anyway is replaced, and the reply it was judging fails
alone. The parent hands each reply over as an unnamed file (a memfd) passed with a short message on
a socket of their own, and picks up the answers whenever it looks: its loop never waits on a judge
(not even for the judge to read a large reply), so no reply can delay or fail another's job.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import select
import signal
import socket
import struct
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict

from ninja.grade.confine import mapped_bytes
from ninja.grade.sandbox import Outcome

Verdict = dict  # what judging one reply gives: JSON-able plain data
MAX_RESTARTS = 20


class Judging:
    """`judge(outcome) -> Verdict` runs in the judging process for each reply, under `seconds` and
    `memory_mb` (on top of what it has when it starts); `failed(outcome, why) -> Verdict` stands in
    when it does not finish. `warm()` runs once in each judging process before it serves."""

    def __init__(self, judge: Callable[[Outcome], Verdict], failed: Callable[[Outcome, str], Verdict],
                 seconds: float, memory_mb: int, warm: Callable[[], None] = lambda: None):  # fmt: skip
        self.judge, self.failed, self.seconds, self.memory_mb, self.warm = judge, failed, seconds, memory_mb, warm
        self.pending: dict[int, Outcome] = {}  # handed over, not answered yet, in order
        self.restarts = 0
        self.start()

    def start(self) -> None:
        self.received = bytearray()
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.pid = os.fork()
        if self.pid == 0:
            code = 0
            try:
                keep = theirs.fileno()
                os.closerange(3, keep)  # the fork server's socket above all: it must see the parent close it
                os.closerange(keep + 1, 1 << 16)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
                self.warm()
                serve(theirs, self.judge, self.failed, self.seconds, self.memory_mb)
            except BaseException:  # noqa: BLE001 (the parent reports the replies it never answered)
                code = 70
            os._exit(code)
        theirs.close()
        self.sock.setblocking(False)

    def submit(self, outcome: Outcome) -> None:
        """Hand one reply over; never waits on a judge (it reads what the judging process answers meanwhile)."""
        self.pending[outcome.job["id"]] = outcome
        self.send(outcome)

    def send(self, outcome: Outcome) -> None:
        """The reply's bytes go in a file of their own, passed with a short message: the socket
        never holds them, so handing a reply over never waits for the judge to read it."""
        meta = {k: v for k, v in asdict(outcome).items() if k != "data"}
        with reply_file(outcome.data) as f:
            message = memoryview(framed({"outcome": meta, "size": len(outcome.data)}))
            fds = [f.fileno()]
            while message:
                _, writable, _ = select.select([self.sock], [self.sock], [])
                if not writable:
                    self.receive()  # the judging process waits for us to read: read, then go on sending
                    continue
                try:
                    message = message[socket.send_fds(self.sock, [message], fds) :]
                except (BrokenPipeError, ConnectionResetError):
                    return  # it died: answers() replaces it and sends what it never answered again
                except OSError as e:
                    if e.errno != errno.ETOOMANYREFS:
                        raise
                    # more files in flight than this user may have open (RLIMIT_NOFILE, without root):
                    # the judge is that far behind; once it answers one, it has taken the next file
                    select.select([self.sock], [], [])
                    self.receive()
                    continue
                fds = []  # the file went with the message's first bytes

    def receive(self) -> bool:
        """Read what there is; False when the judging process has gone."""
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return True
        except ConnectionResetError:
            chunk = b""
        self.received += chunk
        return bool(chunk)

    def answers(self, block: bool = False) -> Iterator[tuple[int, Verdict]]:
        """(job id, verdict) for every answer there is; with `block`, until every reply is answered."""
        while self.pending:
            answer, _ = unframed(self.received)
            if answer is not None:
                self.pending.pop(answer["id"], None)
                yield answer["id"], answer["verdict"]
                continue
            ready, _, _ = select.select([self.sock], [], [], None if block else 0)
            if not ready:
                return
            if not self.receive():
                yield from self.replace()

    def replace(self) -> Iterator[tuple[int, Verdict]]:
        """The judging process died judging the oldest reply still pending: that one fails alone,
        a new judging process takes the others."""
        self.close()
        first = next(iter(self.pending))
        outcome = self.pending.pop(first)
        yield first, self.failed(outcome, "judging its result crashed the judge: not graded")
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            for i, outcome in list(self.pending.items()):
                del self.pending[i]
                yield i, self.failed(outcome, f"the judge died {self.restarts} times: not graded")
            return
        self.start()
        for outcome in list(self.pending.values()):
            self.send(outcome)

    def close(self) -> None:
        self.sock.close()
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


def framed(message: dict, data: bytes = b"") -> bytes:
    text = json.dumps(message).encode()
    return struct.pack("<II", len(text), len(data)) + text + data


def unframed(buffer: bytearray) -> tuple[dict | None, bytes]:
    """The first whole message in `buffer` and its bytes, taken out of it; None while it is not all there."""
    if len(buffer) < 8:
        return None, b""
    length, size = struct.unpack("<II", buffer[:8])
    if len(buffer) < 8 + length + size:
        return None, b""
    message = json.loads(buffer[8 : 8 + length])
    data = bytes(buffer[8 + length : 8 + length + size])
    del buffer[: 8 + length + size]
    return message, data


def reply_file(data: bytes):
    """An unnamed file holding `data` (in memory where Linux allows: memfd), to pass by descriptor."""
    f = open(os.memfd_create("ninja-reply"), "w+b") if hasattr(os, "memfd_create") else tempfile.TemporaryFile()  # noqa: SIM115
    f.write(data)
    f.flush()
    return f


def read_reply(fd: int, size: int) -> bytes:
    """What the parent wrote in the file `fd` passed with a reply (from its start: the offset is shared)."""
    parts, done = [], 0
    while done < size:
        part = os.pread(fd, min(size - done, 1 << 24), done)
        if not part:
            break
        parts.append(part)
        done += len(part)
    return b"".join(parts)


class TooLong(BaseException):
    """Past the time limit (a BaseException: judging's own `except Exception` must not swallow it)."""


def too_long(signum, frame):
    raise TooLong


def serve(sock: socket.socket, judge, failed, seconds: float, memory_mb: int) -> None:
    """The judging process: one reply at a time, each under the alarm, all under the memory limit."""
    memory = mapped_bytes() + memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    signal.signal(signal.SIGALRM, too_long)
    buffer = bytearray()
    files: deque[int] = deque()  # one per message, in order: the reply's bytes
    while True:
        meta, _ = unframed(buffer)
        if meta is None:
            chunk, fds, _, _ = socket.recv_fds(sock, 1 << 16, 16)
            files.extend(fds)
            if not chunk:
                return
            buffer += chunk
            continue
        fd = files.popleft()
        data = read_reply(fd, meta["size"])
        os.close(fd)
        outcome = Outcome(**meta["outcome"] | {"data": data})
        why = f"judging its result took over {seconds:g} s or over {memory_mb} MB: not graded"
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            verdict = judge(outcome)
        except (TooLong, MemoryError, RecursionError):
            verdict = failed(outcome, why)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        sock.sendall(framed({"id": outcome.job["id"], "verdict": verdict}))
