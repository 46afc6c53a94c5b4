"""A learner's check in a child forked from this (warm) process, so that it can be stopped: the
child runs `exercise.collect` and sends back plain data (ninja/collected.py's wire format), this
process `judge`s it. `ninja watch` uses it: an endless loop in the learner's file never freezes
the screen, a save restarts the check, q quits at once.

Not a sandbox (`ninja grade` has one): the learner runs their own code on their own machine. The
child only gets its own process group, so that stopping it stops whatever it started, and quiet
standard streams, so that it neither draws on the screen nor reads the keys meant for watch.
"""

from __future__ import annotations

import faulthandler
import gc
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ninja import collected
from ninja.results import LearnerError, Report, from_dict, to_dict


@dataclass
class Plan:
    """What a child runs for one check of `path`. A .py file: `collect` there, `judge` here (the
    trusted references stay here, kept from one check to the next). A notebook: the child runs the
    whole of `ninja check`'s notebook check (its set-up cells, its fallback to the template's
    forward) and sends the report itself, as plain data."""

    path: Path
    whole: bool = False


def plan(exercise, path: Path) -> Plan:
    """The check of `path`, prepared here. Raises notebook.NotebookError for a notebook that cannot
    be read (before any child runs), and OSError for a file that is not there."""
    if path.suffix != ".ipynb":
        return Plan(path)
    from ninja import notebook

    notebook.generate(exercise, path)  # its cells can be read and some are this exercise's
    return Plan(path, whole=True)


CAN_FORK = hasattr(os, "fork")  # not on Windows


def in_process(exercise, plan: Plan, settings) -> Report:
    """Where there is no fork: the check, here."""
    from ninja.registry import check_file

    return check_file(exercise, plan.path, settings)


def child_data(exercise, plan: Plan, settings) -> bytes:
    """What the child sends: the collected data, or for a notebook the whole report."""
    if not plan.whole:
        return collected.encode(exercise.collect(plan.path, settings))
    from ninja import notebook

    try:
        report = in_process(exercise, plan, settings)
    except notebook.NotebookError as e:  # changed since the parent looked
        report = failed(exercise, plan, str(e), kind="NotebookError")
    return json.dumps(to_dict(report)).encode()


def report_from(data: bytes) -> Report:
    """A report a child sent as plain data (results.to_dict, as JSON), rebuilt."""
    return from_dict(json.loads(data))


@dataclass
class Child:
    """One check running in a forked child; read `fd` to the end for its result."""

    pid: int
    fd: int
    started: float = field(default_factory=time.monotonic)

    def stop(self) -> None:
        """Stop it and everything it started (its process group); reaping is for whoever reads it."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def start(exercise, plan: Plan, settings) -> Child:
    """Fork a child that checks the learner's file at `settings` and writes plain data to a pipe."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()  # the child then does not copy every inherited object's page when it collects
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_end)
            os.setpgid(0, 0)
            faulthandler.disable()  # a crash is a report of the parent's, not a dump on watch's screen
            quiet()
            send_all(write_end, child_data(exercise, plan, settings))
        except BaseException:  # noqa: BLE001 (whatever happens, the child must not go on as the parent)
            code = 70
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        os.setpgid(pid, pid)  # also here: stop() may come before the child has run a line
    except OSError:
        pass
    return Child(pid, read_end)


def quiet() -> None:
    """The child's standard streams on /dev/null: the learner's file's own printing is captured by
    the runner; what C code writes (or os.write(1, ...)) must not land on watch's screen."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.stdin = open(os.devnull)  # noqa: SIM115
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def send_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def wait(child: Child) -> tuple[bytes, int]:
    """Block until the child has ended: what it sent, and its wait status."""
    chunks = []
    try:
        while chunk := os.read(child.fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(child.fd)
    _, status = os.waitpid(child.pid, 0)
    return b"".join(chunks), status


def report_of(exercise, plan: Plan, settings, data: bytes, status: int, cache: dict | None = None) -> Report:
    """The child's data judged here (references kept in `cache` from one check to the next); a child
    that sent nothing readable is a report with an error."""
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and data:
        try:
            return report_from(data) if plan.whole else exercise.judge(collected.decode(data), settings, cache)
        except Exception as e:  # noqa: BLE001 (a bug of ours must not end watch: show it)
            return failed(exercise, plan, f"ninja could not judge the result ({type(e).__name__}: {e})")
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return failed(exercise, plan, f"the check's process was killed by {name} while your file ran")
    return failed(exercise, plan, "your file ended the check's process before it finished (os._exit?)")


def failed(exercise, plan: Plan, message: str, kind: str = "Crash") -> Report:
    error = LearnerError(kind, message, str(plan.path), None)
    return Report(exercise.name, [], error=error, path=str(plan.path))
