"""`ninja watch`: recheck the learner's file on every save of it or of any .py file beside it (which
it may import). Each check runs in a child forked from this process (torch stays imported, so a
recheck costs a check, not a start-up), where it can be stopped: a file that runs on and on says
so after a second, a save restarts its check, q quits at once. A file that goes away (git stash,
a checkout) is waited for.

Keys: h shows a hint for the first line that is wrong (again for the next level), n goes on to the
next exercise once this one passes (never by itself), q quits. File events come from watchfiles;
where they don't arrive (WSL's Windows drives, network file systems) it polls instead.
"""

from __future__ import annotations

import os
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import watchfiles
from rich.console import Console, Group
from rich.text import Text

from ninja import forked
from ninja.hint import hint_text, hints_for
from ninja.render import table
from ninja.results import PASS, Report

if TYPE_CHECKING:
    from ninja.registry import Exercise
    from ninja.settings import Settings

# file systems whose changes inotify does not see (WSL 2 mounts Windows drives as 9p, WSL 1 as drvfs)
NETWORK_FILESYSTEMS = {
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "v9fs", "drvfs", "fuse.sshfs", "afs", "ceph", "glusterfs", "lustre",
}  # fmt: skip
POLL_SECONDS = 0.05


def filesystem_type(path: Path, mounts: str = "/proc/mounts") -> str | None:
    """The type of the file system that holds `path` (Linux only; None elsewhere)."""
    try:
        lines = Path(mounts).read_text().splitlines()
    except OSError:
        return None
    target, best, kind = str(path.resolve()), "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def polling_reason(path: Path, mounts: str = "/proc/mounts") -> str | None:
    """Why file events may not arrive for `path`, or None if they should."""
    kind = filesystem_type(path, mounts)
    if kind in NETWORK_FILESYSTEMS:
        return f"{path} is on a {kind} file system, which sends no file events"
    return None


def root_cause(report: Report):
    """The variable to hint about: the first root cause when the engine names them, else the first
    variable that does not pass."""
    wrong = [v for v in report.variables if v.status != PASS]
    causes = [v for v in wrong if getattr(v, "root_cause", None)]
    return next(iter(causes or wrong), None)


def hint_shown(exercise, name: str, level: int) -> Text:
    """The h key: `ninja hint`'s hint at this level, and whether h again shows more."""
    more = "  (h again for more)" if level < len(hints_for(exercise, name)) else ""
    return Text(hint_text(exercise, name, level) + more, style="cyan")


RUNNING_SHOWN_AT = (1, 3, 10, 30)  # seconds into a check at which the screen says it is still running


@dataclass
class Session:
    """What the screen shows: the exercise, its file, the last report, the hint level, and the check
    under way, if one is (in a forked child: see ninja/forked.py)."""

    exercises: list  # every exercise, in order
    exercise: Exercise
    path: Path
    settings: Settings
    polling: str | None = None  # why we poll, None when file events are used
    report: Report | None = None
    checks: int = 0
    hint_level: int = 0
    width: int = 120  # the terminal's columns: under 100 the table drops columns, as check's does
    child: forked.Child | None = None
    plan: forked.Plan | None = None
    missing: bool = False  # the file is not there (git stash, a checkout): waiting for it
    message: str = ""  # a line about the last key pressed, until the next check
    running_shown: float = 0.0  # how far into the check the screen last said it is running
    cache: dict = field(default_factory=dict)  # the trusted references, computed once per exercise

    def start_check(self, done: Callable[[forked.Child, bytes, int], None]) -> None:
        """Stop the check under way, if any, and start one of the file as it is now; `done` gets
        its result, from another thread. A file that is not there is waited for."""
        from ninja import notebook

        self.stop_check()
        self.message, self.running_shown = "", 0.0
        self.missing = not self.path.is_file()
        if self.missing:
            return
        try:
            self.plan = forked.plan(self.exercise, self.path)
        except notebook.NotebookError as e:  # half-written while saving, say: show it, go on watching
            self.show(forked.failed(self.exercise, forked.Plan(self.path), str(e), kind="NotebookError"))
            return
        except OSError:  # gone again between the look and the read
            self.missing = True
            return
        if not forked.CAN_FORK:  # Windows: checked here, so a file that runs on and on freezes the screen
            self.show(forked.in_process(self.exercise, self.plan, self.settings))
            return
        child = self.child = forked.start(self.exercise, self.plan, self.settings)
        threading.Thread(target=lambda: done(child, *forked.wait(child)), daemon=True).start()

    def stop_check(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None

    def finished(self, child: forked.Child, data: bytes, status: int) -> bool:
        """The result of a check: shown if it is the one under way (a stopped one's is dropped)."""
        if child is not self.child:
            return False
        assert self.plan is not None  # start_check made it
        report = forked.report_of(self.exercise, self.plan, self.settings, data, status, self.cache)
        self.child = None
        self.show(report)
        return True

    def show(self, report: Report) -> None:
        self.report = report
        self.checks += 1

    def running_for(self) -> float:
        return time.monotonic() - self.child.started if self.child is not None else 0.0

    def still_running_news(self) -> bool:
        """True when the check under way has just passed one of RUNNING_SHOWN_AT (or another 30 s)."""
        elapsed = self.running_for()
        due = [t for t in RUNNING_SHOWN_AT if t <= elapsed] or [0]
        due_at = max(due[-1], 30 * int(elapsed // 30))
        if self.child is None or due_at <= self.running_shown:
            return False
        self.running_shown = due_at
        return True

    @property
    def next_exercise(self):
        index = [e.name for e in self.exercises].index(self.exercise.name)
        return self.exercises[index + 1] if index + 1 < len(self.exercises) else None

    @property
    def passed(self) -> bool:
        return self.report is not None and self.report.passed and not self.missing

    def screen(self) -> Group:
        parts = []
        if self.missing:
            parts.append(
                Text(
                    f"{self.path} is not there (moved, or put away by git stash or a checkout?): "
                    "waiting for it to come back.",
                    style="bold yellow",
                )
            )
        elif self.report is not None:
            parts.append(table(self.report, self.width))
            if self.hint_level and (variable := root_cause(self.report)) is not None:
                parts.append(hint_shown(self.exercise, variable.name, self.hint_level))
        nxt = self.next_exercise
        if self.passed and self.child is None:
            if nxt is None:
                parts.append(Text("Every exercise done. Well done, backprop ninja.", style="bold green"))
            else:
                parts.append(Text(f"Press n to go on to {nxt.name}: {nxt.title}.", style="bold green"))
        if self.child is not None and self.running_shown:
            parts.append(
                Text(
                    f"running your file {self.path} ... {self.running_for():.0f} s "
                    "(q to stop; a save restarts the check)",
                    style="bold yellow",
                )
            )
        if self.message:
            parts.append(Text(self.message, style="cyan"))
        how = f"polling: {self.polling}" if self.polling else "watching for saves"
        keys = "n next · q quit" if self.passed and nxt else "h hint · q quit"
        parts.append(Text(f"check #{self.checks} · {self.path} · {how} · {keys}", style="dim"))
        return Group(*parts)


@contextmanager
def keyboard(events: queue.Queue):
    """Single key presses from the terminal into `events`, without waiting for Enter. Nothing when
    stdin is not a terminal (Ctrl-C still quits)."""
    try:
        import termios
        import tty
    except ImportError:  # Windows: no termios; Ctrl-C quits
        yield
        return
    if not sys.stdin.isatty():
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)

    def read_keys():
        while True:
            key = os.read(fd, 1)
            if not key:
                break
            events.put(("key", key.decode(errors="replace")))

    tty.setcbreak(fd)
    threading.Thread(target=read_keys, daemon=True).start()
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def watch_saves(folder: Path, wanted: Callable[[str], bool], events: queue.Queue, stop: threading.Event):
    """Put ("saved", paths) into `events` whenever a wanted file in `folder` changes. Editors that save
    by writing a new file and renaming it are seen too: we watch the folder, not the file. A folder
    that goes away (git checkout) is watched again once it is back."""
    while not stop.is_set():
        if not folder.is_dir():
            stop.wait(0.1)
            continue
        try:
            for batch in watchfiles.watch(
                folder,
                watch_filter=lambda change, path: wanted(path) or path == str(folder),
                stop_event=stop,
                step=20,
                recursive=False,
                raise_interrupt=False,
            ):
                events.put(("saved", sorted(path for _, path in batch)))
                if not folder.is_dir():
                    break  # its events end with it: watch the new one when it comes
        except (OSError, RuntimeError):  # gone between the look and the watch
            stop.wait(0.1)
        if not stop.is_set():
            events.put(("saved", []))  # what changed while nobody watched


def is_python_file(path: str) -> bool:
    """A .py file a learner's exercise may import (exercises/bnhelp.py), or a notebook: saving it
    rechecks. Not editors' hidden lock files (.#exercise1.py) nor temporary copies (exercise1.py.tmp~)."""
    name = Path(path).name
    return name.endswith((".py", ".ipynb")) and not name.startswith(".")


def signature(path: Path):
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def signatures(folder: Path) -> dict[str, tuple]:
    """Every Python file in `folder` with its signature."""
    try:
        paths = [path for path in folder.iterdir() if is_python_file(str(path))]
    except OSError:
        return {}
    return {str(path): signature(path) for path in paths}


def poll_saves(folder: Path, events: queue.Queue, stop: threading.Event):
    """The fallback where file events don't arrive: stat the folder's Python files every POLL_SECONDS.
    Our own loop rather than watchfiles' force_polling, whose poller compares whole-second mtimes and
    so misses a second save within the same second."""
    last = signatures(folder)
    while not stop.wait(POLL_SECONDS):
        now = signatures(folder)
        changed = sorted(path for path in now.keys() | last.keys() if now.get(path) != last.get(path))
        last = now
        if changed:
            events.put(("saved", changed))


def run(session: Session, console: Console, poll: bool = False) -> None:
    """The watch loop; returns when the learner presses q. Ctrl-C raises KeyboardInterrupt, after the
    check under way is stopped."""
    reason = polling_reason(session.path.parent)
    if poll or reason:
        session.polling = reason or "asked for with --poll"
    events: queue.Queue = queue.Queue()
    stop = threading.Event()

    def show():
        session.width = console.width
        console.clear()
        console.print(session.screen())

    # every exercise is in the same folder, with the helpers they import: watch all its Python files
    if session.polling:
        watcher = threading.Thread(target=poll_saves, args=(session.path.parent, events, stop), daemon=True)
    else:
        watcher = threading.Thread(
            target=watch_saves, args=(session.path.parent, is_python_file, events, stop), daemon=True
        )
    warm_up(session)
    watcher.start()  # before the first check, so that the watcher is ready by the time it is on screen

    def done(child, data, status):
        events.put(("checked", (child, data, status)))

    session.start_check(done)
    if session.report is not None or session.missing:
        show()
    try:
        with keyboard(events):
            while True:
                try:
                    kind, value = events.get(timeout=0.2)
                except queue.Empty:
                    kind, value = "tick", None
                if kind == "key" and value in ("q", "Q", "\x04"):
                    break
                if handle(session, kind, value, done):
                    show()
    finally:
        session.stop_check()
        stop.set()


def warm_up(session: Session) -> None:
    """One check of the bundled solution here, before any fork: every child then finds the data
    loaded and torch's kernels warm, and a save's result comes sooner. One thread for torch: forked
    children and a thread pool do not mix (grading does the same)."""
    import torch

    torch.set_num_threads(1)
    session.exercise.warm_up(session.settings)


def handle(session: Session, kind: str, value, done) -> bool:
    """Act on one event; True when the screen must be redrawn."""
    if kind == "checked":
        return session.finished(*value)
    if kind == "saved":
        session.hint_level = 0
        session.start_check(done)
        return session.missing or session.child is None
    if kind == "tick":
        if session.missing and session.path.is_file():  # back (its folder's events may have gone with it)
            session.start_check(done)
            return session.child is None
        return session.still_running_news()
    if value in ("h", "H") and session.report is not None and not session.report.passed:
        session.hint_level += 1
        return True
    nxt = session.next_exercise
    if value in ("n", "N"):
        if not session.passed or nxt is None:
            session.message = why_not_next(session, nxt)
            return True
        # a notebook holds every exercise's cells; .py exercises have a file each
        path = session.path if session.path.suffix == ".ipynb" else session.path.with_name(f"{nxt.name}.py")
        session.exercise, session.path = nxt, path
        session.hint_level = 0
        if not session.path.is_file():  # the learner has not started it yet: give them the template
            try:
                shutil.copyfile(nxt.template, session.path)
            except OSError as e:
                session.message = f"cannot create {session.path}: {e.strerror or e}"
                return True
        session.start_check(done)
        return True
    return False


def why_not_next(session: Session, nxt) -> str:
    if nxt is None:
        return f"{session.exercise.name} is the last exercise."
    if session.child is not None:
        return f"n goes on to {nxt.name} once {session.exercise.name} passes: its check is still running."
    report = session.report
    so_far = f" ({report.correct} of {len(report.variables)} correct now)" if report and report.variables else ""
    return f"n goes on to {nxt.name} once {session.exercise.name} passes{so_far}; h shows a hint."
