"""Judging, outside the loop that keeps the children's deadlines.

A child's reply is hostile data: judging it (references, engine, blame) can be slow or large on
purpose. So the parent never judges: a judging process, forked from the parent once everything is
read and prepared (it inherits the plan and the parsed submissions), forks one judge per reply with
a memory limit and kills it past a time limit. The parent hands it each reply on a socket of their
own and picks up the answers whenever it looks: its loop never waits on a judge, so no reply can
delay or fail another's job.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict

from ninja.grade.confine import mapped_bytes
from ninja.grade.sandbox import Outcome, send_all

Verdict = dict  # what judging one reply gives: JSON-able plain data


class Judging:
    """`judge(outcome) -> Verdict` runs in a fresh fork per reply, under `seconds` and `memory_mb`;
    `failed(outcome, why) -> Verdict` stands in when it does not finish. `warm()` runs once in the
    judging process before it serves (references computed there are inherited by every judge)."""

    def __init__(self, judge: Callable[[Outcome], Verdict], failed: Callable[[Outcome, str], Verdict],
                 seconds: float, memory_mb: int, warm: Callable[[], None] = lambda: None):  # fmt: skip
        self.waiting, self.received = 0, bytearray()
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.pid = os.fork()
        if self.pid == 0:
            code = 0
            try:
                keep = theirs.fileno()
                os.closerange(3, keep)  # the fork server's socket above all: it must see the parent close it
                os.closerange(keep + 1, 1 << 16)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
                warm()
                serve(theirs, judge, failed, seconds, memory_mb)
            except BaseException:  # noqa: BLE001 (the parent reports the replies it never answered)
                code = 70
            os._exit(code)
        theirs.close()
        self.sock.setblocking(False)

    def submit(self, outcome: Outcome) -> None:
        """Hand one reply over; never waits on a judge (it reads what the judging process answers meanwhile)."""
        meta = asdict(outcome)
        message = memoryview(framed({k: v for k, v in meta.items() if k != "data"}, outcome.data))
        while message:
            _, writable, _ = select.select([self.sock], [self.sock], [])
            if writable:
                message = message[self.sock.send(message) :]
            else:
                self.receive()  # the judging process waits for us to read: read, then go on sending
        self.waiting += 1

    def receive(self) -> None:
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        if not chunk:
            raise RuntimeError("the judging process died")
        self.received += chunk

    def answers(self, block: bool = False) -> Iterator[tuple[int, Verdict]]:
        """(job id, verdict) for every answer there is; with `block`, until every reply is answered."""
        while self.waiting:
            answer, _ = unframed(self.received)
            if answer is None:
                ready, _, _ = select.select([self.sock], [], [], None if block else 0)
                if not ready:
                    return
                self.receive()
                continue
            self.waiting -= 1
            yield answer["id"], answer["verdict"]

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


def serve(sock: socket.socket, judge, failed, seconds: float, memory_mb: int) -> None:
    """The judging process: one reply at a time, each judged in a fork of its own."""
    buffer = bytearray()
    while True:
        meta, data = unframed(buffer)
        if meta is None:
            chunk = sock.recv(1 << 20)
            if not chunk:
                return
            buffer += chunk
            continue
        outcome = Outcome(**meta | {"data": data})
        verdict = judged(outcome, judge, seconds, memory_mb)
        if verdict is None:
            verdict = failed(outcome, f"judging its result took over {seconds:g} s or over {memory_mb} MB: not graded")
        sock.sendall(framed({"id": outcome.job["id"], "verdict": verdict}))


def judged(outcome: Outcome, judge, seconds: float, memory_mb: int) -> Verdict | None:
    """The verdict of a fork that judges `outcome` under the limits, or None when it did not finish."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_end)
            memory = mapped_bytes() + memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            send_all(write_end, json.dumps(judge(outcome)).encode())
        except BaseException:  # noqa: BLE001 (no verdict: the judging process says why)
            code = 70
        os._exit(code)
    os.close(write_end)
    data, deadline, finished = bytearray(), time.monotonic() + seconds, False
    try:
        while not finished and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([read_end], [], [], left)
            chunk = os.read(read_end, 1 << 20) if ready else b""
            finished = bool(ready) and not chunk
            data += chunk
    finally:
        os.close(read_end)
        if not finished:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if not finished or os.waitstatus_to_exitcode(status) != 0:
        return None
    return json.loads(data)
