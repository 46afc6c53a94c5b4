"""The learner's workspace: a folder with exercises/<name>.py in it. `init` fills one from the
templates the installed package carries, `reset` puts one template back (keeping the learner's file
as a backup), and `exercise_file` says where a learner's file for an exercise is."""

from __future__ import annotations

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


def exercises_folder(workspace: Path | None) -> Path:
    return (workspace or Path(".")) / "exercises"


def exercise_file(name: str, workspace: Path | None = None) -> Path:
    """Where the learner's file for exercise `name` lives: <workspace or .>/exercises/<name>.py."""
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


def backup_name(path: Path) -> Path:
    """exercise1.py -> exercise1.py.bak, or .bak2, .bak3, ... when older backups exist."""
    candidate, number = path.with_name(path.name + ".bak"), 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.bak{number}")
    return candidate


def reset(exercise, workspace: Path | None = None) -> Path | None:
    """Put the template of `exercise` back in place; return where the learner's file was moved
    (None if there was none)."""
    target = exercise_file(exercise.name, workspace)
    backup = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            backup = backup_name(target)
            target.rename(backup)
        shutil.copyfile(exercise.template, target)
    except OSError as e:
        raise WorkspaceError(f"cannot reset {target}: {e.strerror or e}") from None
    return backup
