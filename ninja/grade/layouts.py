"""Submissions as learning platforms hand them out, made into one folder per student:
  - Canvas's "Download Submissions": one flat folder of `alice_12345_5678_exercise1.py`
    (`name[_LATE]_userid_submissionid_filename`; a resubmission may end `-1`);
  - one .zip per student.
Each student's files are copied, as the parent reads every submission (no links, regular files,
capped), into a private staging folder under the name the student gave them; the folder is
graded like any other and its results carry the student's label (`alice_12345`, `bob.zip`).

A zip is hostile input: members with an absolute path, `..`, a link or a device are refused, and
so is an archive past MAX_MEMBERS files, MAX_UNPACKED bytes or a member compressed more than
MAX_RATIO to one. Nothing is extracted by zipfile's own extract (which follows names): each
member's bytes are read, capped, and written under a name checked here.
"""

from __future__ import annotations

import atexit
import io
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ninja.grade import reading

CANVAS = re.compile(r"^(?P<name>[a-z0-9-]+?)(?:_late)?_(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$", re.IGNORECASE)
MAX_MEMBERS = reading.MAX_FILES
MAX_UNPACKED = reading.MAX_TOTAL_BYTES
MAX_RATIO = 200  # a zip bomb's members compress far beyond what source and notebooks do


class LayoutError(ValueError):
    """A submission archive refused: the message names it and says why."""


class Staging:
    """A private folder (0700) of per-student folders, removed when the process ends."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.labels: dict[str, str] = {}  # staged folder -> what the instructor handed in

    def folder(self, label: str) -> Path:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="ninja-submissions-"))
            atexit.register(shutil.rmtree, self.root, True)
        path = self.root / f"{len(self.labels):05d}" / safe_name(Path(label).name)
        path.mkdir(parents=True)
        self.labels[str(path)] = label
        return path


STAGING = Staging()


def safe_name(name: str) -> str:
    """A file or folder name with nothing but letters, digits and . _ - ( ) and spaces."""
    cleaned = re.sub(r"[^\w.\-() ]", "_", name).strip(". ") or "file"
    return cleaned[:120]


def zips_only(folder: Path) -> list[Path] | None:
    """A folder of one .zip per student (and nothing else visible): the zips; None otherwise."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    zips = sorted(p for p in entries if p.suffix.lower() == ".zip" and p.is_file())
    return zips if zips and len(zips) == len(entries) else None


def canvas_groups(folder: Path) -> dict[str, list[tuple[Path, str]]] | None:
    """Canvas's flat layout: {"alice_12345": [(file, "exercise1.py"), ...]}, or None when the
    folder is not laid out so (a subfolder, or a visible file of another name)."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    if not entries or any(p.is_dir() for p in entries):
        return None
    groups: dict[str, list[tuple[Path, str]]] = {}
    for path in sorted(entries):
        match = CANVAS.match(path.name)
        if match is None:
            return None
        groups.setdefault(f"{match['name']}_{match['user']}", []).append((path, match["file"]))
    return groups


def stage_canvas(folder: Path, staging: Staging = STAGING) -> list[Path] | None:
    """One staged folder per Canvas student, or None when `folder` is not Canvas's layout."""
    groups = canvas_groups(folder)
    if groups is None:
        return None
    staged = []
    for label, files in groups.items():
        into = staging.folder(str(folder / label))
        for path, name in files:
            try:
                if name.lower().endswith(".zip"):
                    stage_zip(path, staging, into)
                else:
                    (into / safe_name(name)).write_bytes(reading.read_capped(path, folder))
            except (reading.Unreadable, LayoutError):
                continue  # discovery then says what is missing; a link is never followed
        staged.append(into)
    return staged


def member_name(info: zipfile.ZipInfo, archive: Path) -> PurePosixPath | None:
    """A member's path inside the student's folder; None for a folder entry; LayoutError for a
    path that climbs out, an absolute one, a link or a device."""
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 where the zip was made without Unix modes
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise LayoutError(f"{archive}: {info.filename} is a link or a device, not a file: refused")
    name = PurePosixPath(info.filename.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", info.filename):
        raise LayoutError(f"{archive}: {info.filename} points outside the archive: refused")
    return None if info.is_dir() else name


def stage_zip(archive: Path, staging: Staging = STAGING, into: Path | None = None) -> Path:
    """A student's zip unpacked (checked member by member) into a staged folder (`into`: one
    already staged for this student)."""
    try:
        data = reading.read_capped(archive, cap=MAX_UNPACKED)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = z.infolist()
            if len(members) > MAX_MEMBERS:
                raise LayoutError(f"{archive}: {len(members)} files, over the {MAX_MEMBERS} a submission may hold")
            if sum(m.file_size for m in members) > MAX_UNPACKED:
                raise LayoutError(f"{archive} unpacks to more than {MAX_UNPACKED:,} bytes: refused")
            into = into or staging.folder(str(archive))
            for info in members:
                name = member_name(info, archive)
                if name is None or any(part.startswith(".") or part == "__MACOSX" for part in name.parts):
                    continue
                if info.file_size > MAX_RATIO * max(info.compress_size, 1) + 4096:
                    raise LayoutError(f"{archive}: {info.filename} is compressed {MAX_RATIO}x or more: refused")
                content = z.read(info)  # the CRC and sizes are checked by zipfile
                if len(content) > reading.MAX_FILE_BYTES:
                    raise LayoutError(f"{archive}: {info.filename} is over {reading.MAX_FILE_BYTES:,} bytes")
                target = into.joinpath(*[safe_name(part) for part in name.parts])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            return into
    except reading.Unreadable as e:
        raise LayoutError(str(e)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as e:
        raise LayoutError(f"{archive} is not a zip this can read ({e})") from None


def label_of(submission: str, staging: Staging = STAGING) -> str:
    """What the instructor handed in, for a staged folder; the submission itself otherwise."""
    return staging.labels.get(submission, submission)
