"""`ninja watch`: recheck the learner's file on every save of it or of any .py file beside it (which
it may import), in this process (torch stays imported, so a recheck costs a check, not a start-up).

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
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import watchfiles
from rich.console import Console, Group
from rich.text import Text

from ninja.render import table
from ninja.results import PASS, LearnerError, Report

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
    return (causes or wrong or [None])[0]


def hint_text(exercise, variable, level: int) -> Text:
    hints = exercise.hints.get(variable.name, ())
    title = f"hint for d{variable.name}"
    if not hints:
        shape = variable.expected_shape
        return Text(
            f"{title}: no hint written yet; d{variable.name} has {variable.name}'s shape {shape}.", style="cyan"
        )
    level = min(level, len(hints))
    more = "  (h again for more)" if level < len(hints) else ""
    return Text(f"{title} ({level}/{len(hints)}): {hints[level - 1]}{more}", style="cyan")


@dataclass
class Session:
    """What the screen shows: the exercise, its file, the last report, the hint level."""

    exercises: list  # every exercise, in order
    exercise: object
    path: Path
    settings: object
    polling: str | None = None  # why we poll, None when file events are used
    report: Report | None = None
    checks: int = 0
    hint_level: int = 0

    def recheck(self) -> None:
        from ninja import notebook
        from ninja.registry import check_file

        try:
            self.report = check_file(self.exercise, self.path, self.settings)
        except notebook.NotebookError as e:  # half-written while saving, say: show it, go on watching
            error = LearnerError("NotebookError", str(e), str(self.path), None)
            self.report = Report(self.exercise.name, [], error=error, path=str(self.path))
        self.checks += 1

    @property
    def next_exercise(self):
        index = [e.name for e in self.exercises].index(self.exercise.name)
        return self.exercises[index + 1] if index + 1 < len(self.exercises) else None

    def screen(self) -> Group:
        parts = [table(self.report)]
        if self.hint_level and (variable := root_cause(self.report)) is not None:
            parts.append(hint_text(self.exercise, variable, self.hint_level))
        nxt = self.next_exercise
        if self.report.passed:
            if nxt is None:
                parts.append(Text("Every exercise done. Well done, backprop ninja.", style="bold green"))
            else:
                parts.append(Text(f"Press n to go on to {nxt.name}: {nxt.title}.", style="bold green"))
        how = f"polling: {self.polling}" if self.polling else "watching for saves"
        keys = "n next · q quit" if self.report.passed and nxt else "h hint · q quit"
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
    by writing a new file and renaming it are seen too: we watch the folder, not the file."""
    changes = watchfiles.watch(
        folder,
        watch_filter=lambda change, path: wanted(path),
        stop_event=stop,
        step=20,
        recursive=False,
        raise_interrupt=False,
    )
    for batch in changes:
        events.put(("saved", sorted(path for _, path in batch)))


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
    """The watch loop; returns when the learner presses q or Ctrl-C."""
    reason = polling_reason(session.path.parent)
    if poll or reason:
        session.polling = reason or "asked for with --poll"
    events: queue.Queue = queue.Queue()
    stop = threading.Event()

    def show():
        console.clear()
        console.print(session.screen())

    # every exercise is in the same folder, with the helpers they import: watch all its Python files
    if session.polling:
        watcher = threading.Thread(target=poll_saves, args=(session.path.parent, events, stop), daemon=True)
    else:
        watcher = threading.Thread(
            target=watch_saves, args=(session.path.parent, is_python_file, events, stop), daemon=True
        )
    watcher.start()  # before the first check, so that the watcher is ready by the time it is on screen
    session.recheck()
    show()
    try:
        with keyboard(events):
            while True:
                try:
                    kind, value = events.get(timeout=0.5)
                except queue.Empty:
                    continue
                if kind == "key" and value in ("q", "Q", "\x04"):
                    break
                if handle(session, kind, value):
                    show()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()


def handle(session: Session, kind: str, value) -> bool:
    """Act on one event; True when the screen must be redrawn."""
    if kind == "saved":
        session.hint_level = 0
        session.recheck()
        return True
    if value in ("h", "H") and not session.report.passed:
        session.hint_level += 1
        return True
    nxt = session.next_exercise
    if value in ("n", "N") and session.report.passed and nxt is not None:
        # a notebook holds every exercise's cells; .py exercises have a file each
        path = session.path if session.path.suffix == ".ipynb" else session.path.with_name(f"{nxt.name}.py")
        session.exercise, session.path = nxt, path
        session.hint_level = 0
        if not session.path.is_file():  # the learner has not started it yet: give them the template
            shutil.copyfile(nxt.template, session.path)
        session.recheck()
        return True
    return False
