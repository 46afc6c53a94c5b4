"""While a learner's file runs in this process (`ninja check`, `hint`, `list`): after about a
second, a line on stderr says it is running, at which line of the file, for how long (only in a
terminal, and gone once the check is done); with a timeout, the file is stopped where it is, as
Ctrl-C would stop it, and the report says at which line.

The stop is a SIGINT sent to the main thread, which interrupts a sleep as well as a loop; the
handler raises runner.TimedOut (a KeyboardInterrupt) when the timeout sent it.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ninja.runner import TimedOut

SHOW_AFTER = 1.0  # seconds before the line appears: a quick check never shows it


@contextmanager
def one_thread():
    """torch on one thread for the block (small tensors: a thread pool costs more than it saves)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class Watchdog:
    """`with Watchdog(path, timeout):` around the check of `path`. `fired` tells afterwards whether
    the timeout stopped it."""

    def __init__(self, path, timeout: float | None = None, stream=None):
        paths = path if isinstance(path, list) else [path]  # CS231n checks several files together
        self.paths, self.timeout = [Path(p) for p in paths], timeout
        self.stream = stream if stream is not None else sys.__stderr__
        self.showing = self.fired = False
        self.done = threading.Event()
        self.main: int = threading.main_thread().ident or 0  # the main thread has started: it runs this

    def __enter__(self) -> Watchdog:
        self.started = time.monotonic()
        if self.timeout is not None:
            self.previous = signal.signal(signal.SIGINT, self.interrupted)
        self.thread = threading.Thread(target=self.keep_watch, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()
        if self.timeout is not None:
            signal.signal(signal.SIGINT, self.previous)
        if self.showing:
            self.write("\r\x1b[K")

    def interrupted(self, signum, frame):
        if self.fired:
            raise TimedOut(f"still running after --timeout {self.timeout:g} s: stopped here (an endless loop?)")
        raise KeyboardInterrupt

    def keep_watch(self) -> None:
        terminal = self.is_terminal()
        while not self.done.wait(self.next_wake()):
            elapsed = time.monotonic() - self.started
            if self.timeout is not None and elapsed >= self.timeout and not self.fired:
                self.fired = True
                self.stop_main()
            elif terminal and elapsed >= SHOW_AFTER:
                self.showing = True
                self.write(f"\r\x1b[K{self.status(elapsed)}")

    def next_wake(self) -> float:
        elapsed = time.monotonic() - self.started
        wake = max(SHOW_AFTER - elapsed, 0.0) if elapsed < SHOW_AFTER else 1.0 - (elapsed % 1.0)
        if self.timeout is not None and not self.fired:
            wake = min(wake, max(self.timeout - elapsed, 0.0))
        return max(wake, 0.01)

    def status(self, elapsed: float) -> str:
        where = self.current_line()
        at = f"{where[0]} at line {where[1]}" if where else " and ".join(map(str, self.paths))
        limit = f" of {self.timeout:g}" if self.timeout is not None else ""
        return f"running {at} ... {elapsed:.0f}{limit} s (Ctrl-C stops it)"

    def current_line(self) -> tuple[Path, int] | None:
        """The learner's file and line the main thread is on, if it is in one of their files."""
        frame = sys._current_frames().get(self.main)
        targets = {str(p): p for p in self.paths}
        while frame is not None:
            if frame.f_code.co_filename in targets:
                return targets[frame.f_code.co_filename], frame.f_lineno
            frame = frame.f_back
        return None

    def stop_main(self) -> None:
        if hasattr(signal, "pthread_kill"):
            signal.pthread_kill(self.main, signal.SIGINT)  # a real signal: it interrupts time.sleep too
        else:  # Windows
            import _thread

            _thread.interrupt_main()

    def is_terminal(self) -> bool:
        try:
            return self.stream is not None and self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def write(self, text: str) -> None:
        if self.stream is None:  # no stderr at all (pythonw)
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
