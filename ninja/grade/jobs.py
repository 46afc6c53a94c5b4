"""One graded job, as the parent prepares it: the submission read by the parent (capped, no
links), audited, and copied with the given gradients into a private folder the child works in;
the folder is removed once the job has ended (and, with it, every process it started)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ninja import notebook
from ninja.grade import audit, reading
from ninja.notebook import NotebookError
from ninja.results import Report


class NotGradable(ValueError):
    """The submission cannot be handed to a child: the message says why, for that submission only."""


@dataclass
class Prepared:
    """What the parent keeps of one job, and the job a child gets."""

    job: dict
    source: str  # the graded file as the parent read it: the judge reads this, never the child's copy
    original: str  # the path the student handed in, that messages name
    point_back: Callable[[Report], Report] = lambda report: report
    findings: list[audit.Finding] = field(default_factory=list)


class Scratch:
    """The run's folder of job folders: searchable by the slots' uids, listable by none."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="ninja-grade-"))
        os.chmod(self.root, 0o711)

    def folder(self, i: int) -> Path:
        path = self.root / f"job-{i}"
        path.mkdir(mode=0o700)
        return path

    def remove(self, i: int) -> None:
        shutil.rmtree(self.root / f"job-{i}", ignore_errors=True)  # rmtree does not follow links

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def prepare(i: int, exercise, path: Path, submission: str, scratch: Scratch, given: dict) -> Prepared:
    """Read, audit and copy one submission; NotGradable with the reason for anything wrong with
    it (a link, a FIFO, a huge or malformed notebook: RecursionError and MemoryError included)."""
    root = Path(submission) if Path(submission).is_dir() else path.parent
    try:
        data = reading.read_capped(path, root)
        folder = scratch.folder(i)
        if path.suffix == ".ipynb":
            source, point_back = notebook_program(exercise, data, path, str(folder / f"{exercise.name}.py"))
            siblings: dict[str, bytes] = {}
            relative = Path(f"{exercise.name}.py")
        else:
            source, point_back = data.decode("utf-8", errors="replace"), (lambda report: report)
            # a folder's other .py files come along (CS231n files import their siblings); a file
            # handed in alone comes alone: the files beside it may be classmates'
            siblings = reading.sibling_sources(root, path) if Path(submission).is_dir() else {}
            relative = path.relative_to(root) if reading.inside(path, root) else Path(path.name)
        for name, content in siblings.items():
            write(folder / name, content)
        write(folder / relative, source.encode("utf-8") if path.suffix == ".ipynb" else data)
        findings = audit.audit(source, str(path))
        for name, content in siblings.items():
            findings += [audit.Finding(f.line, f"{name}: {f.what}") for f in audit.audit(content.decode(
                "utf-8", errors="replace"), name)]  # fmt: skip
        for k, table in enumerate(given):
            for name, array in table.items():
                np.save(folder / f".given-{k}-{name}.npy", array, allow_pickle=False)
    except reading.Unreadable as e:
        raise NotGradable(str(e)) from None
    except NotebookError as e:
        raise NotGradable(str(e)) from None
    except (RecursionError, MemoryError) as e:
        raise NotGradable(f"{path} is too deeply nested or too large to read ({type(e).__name__})") from None
    except (OSError, ValueError, UnicodeError) as e:
        raise NotGradable(f"cannot prepare {path}: {e}") from None
    job = {"id": i, "submission": submission, "exercise": exercise.name, "path": str(folder / relative),
           "dir": str(folder)}  # fmt: skip
    return Prepared(job, source, str(path), point_back, findings)


def notebook_program(
    exercise, data: bytes, original: Path, job_path: str | None = None
) -> tuple[str, Callable[[Report], Report]]:
    """A notebook's backward cells after the template's forward, parsed in the parent from its
    own copy of the bytes (never the student's path again); `job_path`: where the child runs it,
    which the report's pointers name in the notebook's terms."""
    with tempfile.TemporaryDirectory(prefix="ninja-notebook-") as private:
        copy = Path(private) / "submission.ipynb"
        copy.write_bytes(data)
        try:
            generated = replace(notebook.generate(exercise, copy), notebook=original, path=job_path)  # the student's
        except NotebookError as e:
            raise NotebookError(str(e).replace(str(copy), str(original))) from None
    return generated.program.source, generated.point


def write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)


def map_back(run: dict, folder: str, original: str) -> None:
    """The child's paths (its job folder) put back in the terms of what the student handed in."""
    if isinstance(run.get("path"), str):
        run["path"] = original
    error = run.get("error")
    if isinstance(error, list) and len(error) == 5:
        error[2] = original if isinstance(error[2], str) and error[2].startswith(folder) else error[2]
        if isinstance(error[1], str):
            error[1] = error[1].replace(folder + os.sep, "")
