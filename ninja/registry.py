"""Every exercise, by name: the one place where the core meets the tracks. Adding an exercise: its
module in its track (ninja/makemore/, ninja/cs231n/), a template in exercises/, a solution in
solutions/, and its name below."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Union

from ninja.cs231n import captioning, classifiers, layers, networks, optim, rnn
from ninja.cs231n.exercise import FunctionsExercise
from ninja.makemore import exercise1, exercise2, exercise3, exercise4
from ninja.makemore.exercise import Exercise as MakemoreExercise

Exercise = Union[MakemoreExercise, FunctionsExercise]  # what the core may hold: any track's exercise

EXERCISES: dict[str, Exercise] = {
    e.name: e for e in (exercise1.EXERCISE, exercise2.EXERCISE, exercise3.EXERCISE, exercise4.EXERCISE)
}
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


class UnknownExercise(LookupError):
    def __init__(self, name: str):
        close = difflib.get_close_matches(name, EXERCISES, n=1)
        maybe = f" Did you mean {close[0]}?" if close else ""
        stem = name.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py").removesuffix(".ipynb")
        if stem != name and stem in EXERCISES:  # a path where an exercise name goes
            maybe = f" To check a file, name its exercise: {stem} --file {name}."
        super().__init__(f"no exercise named {name!r}.{maybe} Known: {', '.join(EXERCISES)}.")


def find(name: str) -> Exercise:
    try:
        return EXERCISES[name]
    except KeyError:
        raise UnknownExercise(name) from None


def check_file(exercise: Exercise, path: Path, settings):
    """A learner's .py file, or the backward cells of their notebook (.ipynb): the Report.
    Raises notebook.NotebookError for a notebook that cannot be read."""
    if Path(path).suffix == ".ipynb":
        from ninja import notebook

        every_gradient = {name for ex in EXERCISES.values() for name in ex.checked}
        return notebook.check(exercise, Path(path), settings, every_gradient)
    return exercise.check(path, settings)
