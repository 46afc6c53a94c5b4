"""Every exercise, by name: the one place where the core meets the tracks. Adding a bundled
exercise: its module in its track (ninja/makemore/, ninja/gpt/, ninja/cs231n/), a template in exercises/, a
solution in solutions/, and its name below. A workspace's or course's own exercises are files
registered in its ninja.toml:

    [exercises.attention]
    file = "attention.py"          # relative to the ninja.toml

What a file defines says its kind (file_kind): LAYERS, CS231n-style forward/backward pairs
(ninja/cs231n/files.py); otherwise a tapped forward, parameters/inputs/forward(tap, ...)
(ninja/tapped/files.py). docs/writing-exercises.md describes both.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from ninja.cs231n import captioning, classifiers, layers, networks, optim, rnn
from ninja.exercise import Exercise
from ninja.gpt import gpt1, gpt2, gpt3, gpt4, gpt5
from ninja.makemore import exercise1, exercise2, exercise3, exercise4

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (pyproject: requires-python >= 3.10, with tomli)
    import tomli as tomllib

__all__ = [
    "EXERCISES",
    "Exercise",
    "ExerciseFileError",
    "add_registered",
    "check_file",
    "dev_check",
    "file_kind",
    "load_file",
    "exercises",
    "find",
    "registered",
]

EXERCISES: dict[str, Exercise] = {
    e.name: e for e in (exercise1.EXERCISE, exercise2.EXERCISE, exercise3.EXERCISE, exercise4.EXERCISE)
}
EXERCISES |= {e.name: e for e in (gpt1.EXERCISE, gpt2.EXERCISE, gpt3.EXERCISE, gpt4.EXERCISE, gpt5.EXERCISE)}
EXERCISES |= {
    e.name: e
    for e in (
        layers.EXERCISE,
        classifiers.EXERCISE,
        optim.EXERCISE,
        rnn.EXERCISE,
        networks.EXERCISE,
        captioning.EXERCISE,
    )
}

BUNDLED = frozenset(EXERCISES)
CONFIG = "ninja.toml"


class ExerciseFileError(ValueError):
    """A ninja.toml's [exercises] table, or an exercise file it names, that cannot be used."""


def registered(config: Path) -> dict[str, Exercise]:
    """The exercises a ninja.toml registers as files ([exercises.NAME] file = "path.py"), loaded
    and validated; ExerciseFileError says what to change."""
    config = Path(config).resolve()
    stamp = config.stat().st_mtime_ns if config.is_file() else None
    return dict(_registered(config, stamp))


@lru_cache(maxsize=8)
def _registered(config: Path, stamp) -> tuple[tuple[str, Exercise], ...]:
    from ninja.tapped import files

    if stamp is None:
        return ()
    try:
        table = tomllib.loads(config.read_text(encoding="utf-8")).get("exercises", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ExerciseFileError(f"{config}: cannot read it ({e})") from None
    if not isinstance(table, dict):
        raise ExerciseFileError(
            f'{config}: [exercises] must be tables, like [exercises.attention] file = "attention.py"'
        )
    found = []
    for name, entry in table.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise ExerciseFileError(f'{config}: [exercises.{name}] needs file = "path.py"')
        if not name.isidentifier():
            raise ExerciseFileError(f"{config}: [exercises.{name}]: an exercise's name must be a Python name")
        if name in BUNDLED:
            raise ExerciseFileError(
                f"{config}: [exercises.{name}]: {name} is a bundled exercise's name: choose another"
            )
        path = config.parent / entry["file"]
        if not path.is_file():
            raise ExerciseFileError(f"{config}: [exercises.{name}] file = {entry['file']!r}: there is no such file")
        solution = config.parent / entry["solution"] if isinstance(entry.get("solution"), str) else None
        try:
            found.append((name, load_file(path, name, solution)))
        except files.ExerciseFileError as e:
            raise ExerciseFileError(str(e)) from None
    return tuple(found)


def file_kind(module: ModuleType) -> str:
    """An exercise file's kind, by what it defines: "LAYERS" (CS231n-style pairs), else "tapped"
    (a tapped forward; its loader says what such a file lacks)."""
    from ninja.cs231n.files import MARKER

    return MARKER if hasattr(module, MARKER) else "tapped"


def load_file(path: Path, name: str, solution: Path | None = None) -> Exercise:
    """The exercise an instructor's file defines, of the kind file_kind says (`solution`: the
    file its ninja.toml names); raises ninja.tapped.files.ExerciseFileError, one line saying what
    to change."""
    from ninja.cs231n import files as pairs
    from ninja.tapped import files

    module = files.module_of(Path(path))
    if file_kind(module) == pairs.MARKER:
        exercise: Exercise = pairs.from_module(module, name, Path(path))
    else:
        exercise = files.loaded(Path(path), name, module)  # a file's own SOLUTION stays unless ninja.toml names one
    return exercise if solution is None else dataclasses.replace(exercise, solution_file=solution)  # type: ignore[type-var]  # both kinds are dataclasses


def dev_check(path: Path, solution: Path | None = None, name: str | None = None):
    """`ninja dev check`: the checks of the file's kind (ninja/devcheck.py's for a tapped forward,
    ninja/cs231n/filecheck.py's for LAYERS); a devcheck.Outcome. Raises devcheck.DevCheckUsage for a
    path that is no readable .py file."""
    from ninja import devcheck
    from ninja.cs231n import filecheck
    from ninja.cs231n.files import MARKER
    from ninja.tapped import files

    path = devcheck.readable(Path(path), "FILE")
    if solution is not None:
        devcheck.readable(Path(solution), "--solution")
    try:
        module = files.module_of(path)
    except files.ExerciseFileError as e:
        return devcheck.Outcome(name or path.stem, failures=[str(e)])
    if file_kind(module) == MARKER:
        return filecheck.dev_check(module, path, solution, name or path.stem)
    return devcheck.dev_check(path, solution, name, module)


def add_registered(config: Path) -> dict[str, Exercise]:
    """Make a course's exercise files part of EXERCISES for this process (`ninja grade` and
    `ninja course init` read one ninja.toml, and grading's modules look exercises up there)."""
    found = registered(config)
    EXERCISES.update(found)
    return found


def workspace_config(root: Path | None = None) -> Path | None:
    """The ninja.toml of the workspace or course given, else of the one the current folder is in."""
    from ninja.workspace import find_root

    root = root if root is not None else find_root()
    return root / CONFIG if root is not None and (root / CONFIG).is_file() else None


def exercises(root: Path | None = None) -> dict[str, Exercise]:
    """The bundled exercises, then those the workspace's (or course's) ninja.toml registers."""
    config = workspace_config(root)
    return EXERCISES | (registered(config) if config is not None else {})


class UnknownExercise(LookupError):
    def __init__(self, name: str, known: dict | None = None):
        known = known if known is not None else EXERCISES
        close = difflib.get_close_matches(name, known, n=1)
        maybe = f" Did you mean {close[0]}?" if close else ""
        stem = name.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py").removesuffix(".ipynb")
        if stem != name and stem in known:  # a path where an exercise name goes
            maybe = f" To check a file, name its exercise: {stem} --file {name}."
        super().__init__(f"no exercise named {name!r}.{maybe} Known: {', '.join(known)}.")


def find(name: str, root: Path | None = None) -> Exercise:
    """The exercise named `name`: bundled, or registered in the workspace's ninja.toml."""
    if name in EXERCISES:
        return EXERCISES[name]
    known = exercises(root)
    try:
        return known[name]
    except KeyError:
        raise UnknownExercise(name, known) from None


def check_file(exercise: Exercise, path: Path, settings):
    """A learner's .py file, or the backward cells of their notebook (.ipynb): the Report.
    Raises notebook.NotebookError for a notebook that cannot be read."""
    if Path(path).suffix == ".ipynb":
        from ninja import notebook

        return notebook.check(exercise, Path(path), settings)
    return exercise.check(path, settings)
