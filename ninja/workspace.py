"""The learner's workspace: a folder with exercises/<name>.py in it. `init` fills one from the
templates the installed package carries, `reset` puts one template back (keeping the learner's file
as a backup), and `exercise_file` says where a learner's file for an exercise is."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

README = """\
# My backprop-ninja workspace

Your exercises are in `exercises/`. In each, replace the `dX = None  # TODO` lines with the
gradient of the loss with respect to X, then:

    ninja check exercise1      # compare with PyTorch autograd, variable by variable
    ninja watch exercise1      # recheck on every save (h: hint, q: quit)
    ninja list                 # your progress at a glance
    ninja reset exercise1      # start an exercise over (your file is kept as a backup)
    ninja solution exercise1   # the reference, once your exercise passes

Working in a notebook? `ninja check exercise1 --file my.ipynb` checks its backward cells, and
`from ninja import cmp` replaces the notebook's own cmp.
"""


class WorkspaceError(Exception):
    """Something about the workspace's folders that the learner must fix (exit code 2)."""


MARKER = "ninja.toml"  # a workspace may say so with this file, as a folder with exercises/ in it does


def find_root(start: Path | None = None) -> Path | None:
    """The workspace the current folder is in: the nearest folder, from here upwards, that holds
    exercises/ or a ninja.toml (as git looks for .git). None when there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir() or (folder / MARKER).is_file():
            return folder
    return None


def shown(path: Path) -> Path:
    """`path` as the learner would type it from here: relative when it is under the current folder
    or near it (../exercises/exercise1.py), else as it is."""
    try:
        relative = Path(os.path.relpath(path))
    except ValueError:  # another drive, on Windows
        return path
    return relative if relative.parts[:2] != ("..", "..") else path


def exercises_folder(workspace: Path | None) -> Path:
    """<--workspace>/exercises when given, else that of the workspace found from here, else ./exercises."""
    if workspace is not None:
        return workspace / "exercises"
    found = find_root()
    return shown(found / "exercises") if found is not None else Path("exercises")


def exercise_file(name: str, workspace: Path | None = None) -> Path:
    """Where the learner's file for exercise `name` lives: <workspace>/exercises/<name>.py."""
    if workspace is not None and not workspace.is_dir():
        raise WorkspaceError(f"workspace {workspace} is not a folder (create one with `ninja init {workspace}`)")
    return exercises_folder(workspace) / f"{name}.py"


@dataclass
class InitResult:
    folder: Path
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # already there: a learner's work is never overwritten


def init(folder: Path, exercises) -> InitResult:
    """Copy every exercise's template into folder/exercises/ and write folder/README.md, leaving
    any file that already exists alone."""
    if folder.exists() and not folder.is_dir():
        raise WorkspaceError(f"{folder} exists and is not a folder")
    result = InitResult(folder)
    try:
        exercises_folder(folder).mkdir(parents=True, exist_ok=True)
        copies = [(ex.template, exercise_file(ex.name, folder)) for ex in exercises]
        for source, target in copies:
            _copy_new(source, target, result)
        readme = folder / "README.md"
        if readme.exists():
            result.kept.append(readme)
        else:
            readme.write_text(README, encoding="utf-8")
            result.created.append(readme)
    except OSError as e:
        raise WorkspaceError(f"cannot write the workspace in {folder}: {e.strerror or e}") from None
    return result


def _copy_new(source: Path, target: Path, result: InitResult) -> None:
    if target.exists():
        result.kept.append(target)
    else:
        shutil.copyfile(source, target)
        result.created.append(target)


def backups(path: Path) -> list[Path]:
    """The backups of `path` there are: exercise1.py.bak, then .bak2, .bak3, ..."""
    found = []
    while (candidate := path.with_name(path.name + (f".bak{len(found) + 1}" if found else ".bak"))).exists():
        found.append(candidate)
    return found


def backup_name(path: Path) -> Path:
    """exercise1.py -> exercise1.py.bak, or .bak2, .bak3, ... when older backups exist."""
    count = len(backups(path))
    return path.with_name(f"{path.name}.bak{count + 1}" if count else path.name + ".bak")


@dataclass
class ResetResult:
    target: Path
    backup: Path | None = None  # where the learner's file is kept; None if there was none to keep
    new_backup: bool = False  # False: an identical backup was already there, so none was added
    untouched: bool = False  # the file was the template already: nothing was done

    @property
    def message(self) -> str:
        if self.untouched:
            return f"{self.target} is already the template: nothing to reset"
        if self.backup is None:
            return f"restored {self.target} from the template"
        kept = "is now" if self.new_backup else "was already kept as"
        return f"restored {self.target} from the template; your file {kept} {self.backup}"


def reset(exercise, workspace: Path | None = None) -> ResetResult:
    """Put the template of `exercise` back in place, keeping the learner's file as a backup: a new
    one only when no backup holds the same text (resetting again piles up no copies)."""
    target = exercise_file(exercise.name, workspace)
    try:
        template = exercise.template.read_bytes()
        mine = target.read_bytes() if target.is_file() else None
        if mine == template:
            return ResetResult(target, untouched=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        result = ResetResult(target)
        if target.exists():
            same = [old for old in backups(target) if mine is not None and old.read_bytes() == mine]
            result.backup, result.new_backup = (same[0], False) if same else (backup_name(target), True)
            if result.new_backup:
                target.rename(result.backup)
            else:
                target.unlink()
        shutil.copyfile(exercise.template, target)
    except OSError as e:
        raise WorkspaceError(f"cannot reset {target}: {e.strerror or e}") from None
    return result


def why_unreadable(path: Path) -> str:
    """Why `path` is no file to read, in the system's words: "No such file or directory", "Is a directory"."""
    if path.is_dir():
        return "it is a folder"
    try:
        with open(path, "rb"):
            return "not a regular file" if not path.is_file() else "unreadable"
    except OSError as e:
        return e.strerror or str(e)
