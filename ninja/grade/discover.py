"""Which file of a submission is which exercise, as students really hand them in.

A submission is a folder (a Gradescope upload, a zip of a folder, a student's repository) or one
file. In a folder, for each exercise, the candidates are, best first:
  1. a file under the template's name (`exercise1.py`), at the top or in a folder under it;
  2. a near name (`Exercise1.py`, `exercise1 (1).py`, `exercise_1.py`, `Copy of exercise1.py`),
     taken with a note naming the file;
  3. a notebook (any `.ipynb`) holding cells that write the exercise's gradients, graded as
     `ninja grade x.ipynb -e EX` grades it.
The best kind found wins; two of that kind is an error naming both (which one would be graded is
a guess); lesser candidates are named in a note. Hidden folders and `__MACOSX` are skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ninja.grade import layouts
from ninja.notebook import NotebookError
from ninja.registry import EXERCISES, Exercise

EXACT, NEAR, NOTEBOOK = "exact", "near", "notebook"
RANK = {EXACT: 0, NEAR: 1, NOTEBOOK: 2}

# what browsers, Finder and Drive add to a downloaded file's name: " (1)", "-2", " copy", "Copy of "
COPY_MARKS = re.compile(r"(\s*\(\d+\)|\s+copy(\s*\d+)?|-\d+|_v?\d+)$", re.IGNORECASE)


class GradeError(ValueError):
    """Bad grading input (paths, config): the message says what to fix."""


@dataclass
class Found:
    """One (submission, exercise) to grade: the file, or why there is none; a note for the student."""

    submission: str  # the path given
    exercise: Exercise | None
    path: Path | None  # None: nothing to grade (problem says why)
    note: str = ""  # e.g. "graded Exercise1.py as exercise1.py"
    problem: str = ""
    handed_in: bool = True  # False: no candidate at all (not submitted), not an unclear one

    def as_work(self) -> tuple[str, Exercise | None, Path | None]:
        return self.submission, self.exercise, self.path


def squeeze(name: str) -> str:
    """exercise_1, Exercise-1, exercise 1 -> exercise1."""
    return re.sub(r"[\s_\-.]+", "", name.lower())


def near_exercise(filename: str) -> str | None:
    """The exercise a .py file's name is close to (`Exercise1.py`, `exercise1 (1).py`, ...), or None."""
    path = Path(filename)
    if path.suffix.lower() != ".py":
        return None
    stem = re.sub(r"^copy of\s+", "", path.stem, flags=re.IGNORECASE)
    for candidate in (stem, COPY_MARKS.sub("", stem)):
        squeezed = squeeze(candidate)
        for name in EXERCISES:
            if squeezed == squeeze(name):
                return name
    return None


SKIPPED = ("__MACOSX", "site-packages")  # a Mac zip's copies; a virtual environment's packages


def ours(folder: Path) -> bool:
    """A copy of backprop-ninja's own package (a course starter's `backprop-ninja/ninja/`): its
    modules and bundled templates share the exercises' names."""
    return folder.name == "ninja" and (folder / "registry.py").is_file()


def walk(folder: Path) -> list[Path]:
    """Every file of a submission folder, top first, less hidden files and folders, __MACOSX (the
    Finder's copies in a zip made on a Mac) and the templates inside a copy of backprop-ninja (a
    course starter's `backprop-ninja/`, a virtual environment)."""
    files = []
    for parent, folders, names in os.walk(folder):
        folders[:] = sorted(
            f for f in folders if not f.startswith(".") and f not in SKIPPED and not ours(Path(parent) / f)
        )
        files += [Path(parent) / name for name in sorted(names) if not name.startswith(".")]
    return files


def holds_cells(exercise: Exercise, path: Path, root: Path) -> bool:
    """Does this notebook have cells that write the exercise's gradients? Read as the grading
    parent reads every submission file (no links, regular files, capped); one that cannot be read
    is no candidate."""
    from ninja.grade import jobs, reading

    if not exercise.notebook_cells:
        return False
    try:
        data = reading.read_capped(path, root)
        jobs.notebook_program(exercise, data, path)
    except (NotebookError, reading.Unreadable, RecursionError, MemoryError, OSError, ValueError):
        return False
    return writes_most_of(exercise, data)


def writes_most_of(exercise: Exercise, data: bytes) -> bool:
    """Whether the notebook's code assigns half of the exercise's gradients or more: Karpathy's
    notebook writes dlogits, which GPT's first exercise checks too, and is no GPT submission."""
    import ast
    import json

    try:
        cells = json.loads(data).get("cells", [])
        code = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
    except (ValueError, AttributeError, TypeError):
        return False
    assigned = set()
    for line in code.splitlines():  # line by line: one cell that does not parse sinks nothing
        try:
            tree = ast.parse(line.strip())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    while isinstance(target, ast.Subscript):
                        target = target.value
                    if isinstance(target, ast.Name):
                        assigned.add(target.id)
    wanted = {f"d{name}" for name in exercise.checked}
    return 2 * len(wanted & assigned) >= len(wanted)


def candidates(folder: Path, exercise: Exercise, files: list[Path]) -> list[tuple[str, Path]]:
    """(kind, file) for every file of the folder that could be this exercise's."""
    found = []
    for path in files:
        if path.name == f"{exercise.name}.py":
            found.append((EXACT, path))
        elif near_exercise(path.name) == exercise.name:
            found.append((NEAR, path))
        elif path.suffix.lower() == ".ipynb" and holds_cells(exercise, path, folder):
            found.append((NOTEBOOK, path))
    if any(kind == EXACT and path.parent == folder for kind, path in found):  # the top one wins, as ever
        found = [(kind, path) for kind, path in found if not (kind == EXACT and path.parent != folder)]
    return found


def choose(folder: Path, exercise: Exercise, found: list[tuple[str, Path]], submission: str) -> Found:
    """The best candidate; an error naming both when two are equally good."""
    best = min(RANK[kind] for kind, _ in found)
    top = [path for kind, path in found if RANK[kind] == best]
    kind = next(kind for kind, _ in found if RANK[kind] == best)
    named = [str(path.relative_to(folder)) for path in top]
    filename = f"{exercise.name}.py"
    if len(top) > 1:
        what = f"files named {filename}" if kind == EXACT else f"candidates for {exercise.name}"
        problem = f"{len(top)} {what} in the submission ({', '.join(named)}): which one to grade? Keep only one"
        return Found(submission, exercise, None, problem=problem)
    path = top[0]
    notes = []
    if kind == NEAR:
        notes.append(f"graded {named[0]} as {filename} (the name is close; name it {filename})")
    elif kind == NOTEBOOK:
        notes.append(f"graded the notebook {named[0]}: its cells for {exercise.name}")
    others = [str(p.relative_to(folder)) for k, p in found if RANK[k] > best]
    if others:
        notes.append(f"not graded for {exercise.name}: {', '.join(others)}")
    return Found(submission, exercise, path, note="; ".join(notes))


def in_folder(folder: Path, exercise: Exercise | None, course: list[Exercise] | None = None) -> list[Found]:
    """`exercise`: only that one; `course`: exactly these (one missing is graded 0 with the reason);
    neither: whichever the folder holds."""
    submission = str(folder)
    files = walk(folder)
    required = [exercise] if exercise else course or []
    found = []
    for ex in required or list(EXERCISES.values()):
        options = candidates(folder, ex, files)
        if options:
            found.append(choose(folder, ex, options, submission))
        elif ex in required:
            found.append(Found(submission, ex, None, problem=nothing_found(ex, files, folder), handed_in=False))
    if not found:
        names = ", ".join(f"{name}.py" for name in EXERCISES)
        found = [Found(submission, None, None, problem=f"no exercise file in {submission} (looked for {names})")]
    return found


def nothing_found(exercise: Exercise, files: list[Path], folder: Path) -> str:
    message = f"no {exercise.name}.py in the submission"
    notebooks = [str(p.relative_to(folder)) for p in files if p.suffix.lower() == ".ipynb"]
    if notebooks:
        message += f", and no cell of {', '.join(notebooks)} assigns {exercise.name}'s gradients"
    shown = [str(p.relative_to(folder)) for p in files[:5]]
    if shown and not notebooks:
        message += f" (it holds {', '.join(shown)}{', ...' if len(files) > 5 else ''})"
    return message


def single_file(path: Path, exercise: Exercise | None) -> list[Found]:
    """One file: its exercise from --exercise, its name, or (a notebook) the cells it holds."""
    submission = str(path)
    if exercise is not None:
        return [Found(submission, exercise, path)]
    if path.stem in EXERCISES and path.suffix == ".py":
        return [Found(submission, EXERCISES[path.stem], path)]
    near = near_exercise(path.name)
    if near:
        return [Found(submission, EXERCISES[near], path, note=f"graded {path.name} as {near}.py (the name is close)")]
    if path.suffix.lower() == ".ipynb":
        held = [ex for ex in EXERCISES.values() if holds_cells(ex, path, path.parent)]
        if held:
            return [Found(submission, ex, path) for ex in held]
        raise GradeError(f"no cell of {path} writes an exercise's gradients (dlogprobs, dlogits, dhprebn, ...)")
    raise GradeError(f"cannot tell which exercise {path} is: name it exercise1.py, ... or pass --exercise EX")


def discover(paths: Iterable[Path], exercise: Exercise | None, course: list[Exercise] | None = None) -> list[Found]:
    """Every (submission, exercise) to grade, in the order given; `course`: the exercises a folder
    must hold (ninja.toml's)."""
    found = []
    for path in paths:
        if path.is_dir() and (zips := layouts.zips_only(path)) is not None:
            for archive in zips:
                found += in_zip(archive, exercise, course)
        elif path.is_dir():
            staged = layouts.stage_canvas(path)
            for folder in staged if staged is not None else [path]:
                found += in_folder(folder, exercise, course)
        elif path.is_file() and path.suffix.lower() == ".zip":
            found += in_zip(path, exercise, course)
        elif path.is_file():
            found += single_file(path, exercise)
        else:
            raise GradeError(f"cannot read {path}")
    return found


def in_zip(archive: Path, exercise: Exercise | None, course: list[Exercise] | None) -> list[Found]:
    """One student's zip: its folder, unpacked with care; a refused one grades 0 and says why."""
    try:
        return in_folder(layouts.stage_zip(archive), exercise, course)
    except layouts.LayoutError as e:
        required: list[Exercise | None] = [exercise] if exercise else list(course or []) or [None]
        return [Found(str(archive), ex, None, note=str(e)) for ex in required]


def add_notes(results: list, found: list[Found]) -> None:
    """Each result (in the order found) gains the file graded and its discovery note, as a line of
    its message; an exercise with no file at all is "not submitted", its own status."""
    from ninja.grade.batch import NOT_SUBMITTED

    for result, each in zip(results, found, strict=True):
        result.submission = layouts.label_of(result.submission)
        if not each.handed_in:
            result.status = NOT_SUBMITTED
        result.file = str(each.path) if each.path else ""
        if each.note:
            result.message += f"\nnote: {each.note}"
