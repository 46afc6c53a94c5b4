"""Folders a live grading run holds (flock) for as long as it lives, and those of runs that died:
a run killed outright (SIGKILL) leaves its folders, locked by no one, for the next run to remove."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator


def hold(path: str) -> int:
    """`path`, a folder just made, locked by this process until the descriptor returned is closed;
    OSError (ESTALE) if another run swept it between its making and the lock."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        os.close(fd)
        raise OSError(errno.ESTALE, f"{path} was removed as it was made")
    return fd


def abandoned(base: str, prefix: str) -> Iterator[str]:
    """The folders in `base` named `prefix`... that are this user's and that no live run holds,
    each locked while the caller removes it."""
    try:
        names = [name for name in os.listdir(base) if name.startswith(prefix)]
    except OSError:
        return
    for name in names:
        path = os.path.join(base, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if os.fstat(fd).st_uid == os.geteuid():
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live run holds it: BlockingIOError
                yield path
        except OSError:
            pass
        finally:
            os.close(fd)
