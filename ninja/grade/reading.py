"""The parent reads submissions itself, and trusts nothing about them: no symlinks (O_NOFOLLOW),
regular files only (a FIFO or a device is refused without blocking), a size cap, and paths inside
the submission folder. What it read is handed to the child as a copy in the child's own folder."""

from __future__ import annotations

import io
import os
import re
import stat
import tokenize
from pathlib import Path

MAX_FILE_BYTES = 2 * 2**20  # one source file or notebook
MAX_FILES = 200  # .py files copied from one submission folder (CS231n files import their siblings)
MAX_TOTAL_BYTES = 8 * 2**20


class Unreadable(ValueError):
    """A submission file the parent refuses to read: the message names it and says why."""


def read_capped(path: Path, root: Path | None = None, cap: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of `path`, a regular file inside `root` (when given), at most `cap` of them."""
    if root is not None and not inside(path, root):
        raise Unreadable(f"{path} is outside the submission folder {root}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        if os.path.islink(path):
            raise Unreadable(f"{path} is a symbolic link: hand in the file itself") from None
        raise Unreadable(f"cannot read {path}: {e.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"{path} is not a regular file (a FIFO, a device or a folder): refused")
        if info.st_size > cap:
            raise Unreadable(f"{path} is {info.st_size:,} bytes, over the {cap:,} a submission file may be")
        chunks, total = [], 0
        while total <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > cap:
            raise Unreadable(f"{path} grew past {cap:,} bytes while it was read")
        return b"".join(chunks)
    finally:
        os.close(fd)


LINE_END = re.compile(r"\r\n|\r|\n")  # what ends a line for Python's tokenizer (not \f, \v, \x1c, ...)
COMMENT_LINE = re.compile(r"[ \t\f]*#")
COOKIE = re.compile(r"coding[:=]")


def python_text(data: bytes, path: Path) -> str:
    """The source as Python itself reads it: a BOM, a coding line (tokenize's rules). Unreadable
    when Python could not read it either."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as e:
        raise Unreadable(f"{path} is not text Python can read ({e}): save it as UTF-8") from None


def as_utf8(text: str) -> bytes:
    """`text` as UTF-8 bytes that Python reads back as exactly `text`: a coding line (in the first
    two lines, a comment) loses its cookie, so that no other decoding applies to what the child
    compiles. Only a comment changes."""
    head_end = 0
    for _ in range(2):
        end = LINE_END.search(text, head_end)
        head_end = end.end() if end else len(text)
    lines = LINE_END.split(text[:head_end])
    ends = LINE_END.findall(text[:head_end])
    head = "".join(
        (COOKIE.sub("coding (read as UTF-8) ", line) if COMMENT_LINE.match(line) else line) + end
        for line, end in zip(lines, [*ends, ""])
    )
    return (head + text[head_end:]).encode("utf-8")


def inside(path: Path, root: Path) -> bool:
    """Whether `path`'s folder, every link in it resolved, is `root` or below it."""
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    top = os.path.realpath(root)
    return folder == top or folder.startswith(top + os.sep)


def sibling_sources(root: Path, skip: Path) -> dict[str, bytes]:
    """Every other .py file under `root` (relative path -> bytes), for a file that imports its
    siblings; symbolic links, hidden folders and __MACOSX left out, capped in number and bytes."""
    found: dict[str, bytes] = {}
    total = 0
    for parent, folders, files in os.walk(root):  # os.walk does not follow linked folders
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f != "__MACOSX")
        for name in sorted(files):
            path = Path(parent) / name
            if not name.endswith(".py") or path == skip or os.path.islink(path):
                continue
            if len(found) >= MAX_FILES:
                return found
            try:
                data = read_capped(path, root)
            except Unreadable:
                continue  # not the graded file: a sibling it cannot import is the learner's error
            total += len(data)
            if total > MAX_TOTAL_BYTES:
                return found
            found[str(path.relative_to(root))] = data
    return found
