"""What every exercise shares: the protocol the core calls, its run options, its learner template
and reference solution, and a cache for grading.

The exercises: ninja/tapped/exercise.py (a tapped forward: makemore's exercises 1-3 and every
exercise file, ninja/tapped/files.py), ninja/makemore/exercise4.py (training), and
ninja/cs231n/exercise.py (CS231n's NumPy functions). The list of them is ninja/registry.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:  # importing this module costs no torch (the CLI's --help imports it)
    import torch

    from ninja.results import Labels, Report
    from ninja.settings import Settings


class Exercise(Protocol):
    """What the core asks of any exercise."""

    # read-only (exercises are frozen dataclasses): properties here, fields or class attributes there
    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def track(self) -> str: ...  # a word for the JSON output ("makemore", "cs231n"); the core never asks it
    @property
    def labels(self) -> Labels: ...  # how its results read: d<name> or function.output, columns, grading's runs
    @property
    def notebook_cells(self) -> bool: ...  # a notebook's cells can hold its answers (makemore's; not CS231n's)
    @property
    def trains(self) -> bool: ...
    @property
    def hints(self) -> Mapping[str, tuple[str, str, str]]: ...

    @property
    def checked(self) -> tuple[str, ...]: ...  # what it checks, in the order results are shown
    @property
    def template(self) -> Path: ...
    @property
    def solution(self) -> Path: ...
    @property
    def warm_up_file(self) -> Path: ...

    def check(self, path: Any, settings: Settings = ...) -> Report: ...  # collect, then judge
    def collect(self, path: Any, settings: Settings = ...) -> dict: ...  # runs the learner's code: plain data
    def judge(self, data: dict, settings: Settings = ..., cache: dict | None = None) -> Report: ...  # pure
    def for_grading(self) -> Exercise: ...
    def warm_up(self, settings: Settings) -> None: ...  # before `ninja watch` forks its checks
    def handout_problem(self) -> str | None: ...  # why its file must not go to students (answers in it)
    def graded_by_cells(self, text: str) -> bool: ...  # grade this submitted .py as a notebook's cells


@dataclass(frozen=True)
class RunOptions:
    """How one run of a learner's file goes, apart from the exercise: whether a file's own tensors
    are the reference's, and the given gradients when the caller computed them."""

    own_tensors: bool = True  # a file's own parameters and batch are the reference's (not when grading)
    given: Mapping[str, torch.Tensor] | None = None  # None: computed on demand at the run's settings

    @staticmethod
    def grading(given: Mapping[str, torch.Tensor] | None = None) -> RunOptions:
        """Grading keeps its secret seed and batch sizes: never a submission's own tensors; the given
        gradients come from the parent, computed there."""
        return RunOptions(own_tensors=False, given=given)


PACKAGE = Path(__file__).resolve().parent


def bundled(folder: str) -> Path:
    """exercises/ or solutions/: inside the installed package (the wheel carries them under
    ninja/_bundled/), or at the top of a source checkout."""
    inside = PACKAGE / "_bundled" / folder
    return inside if inside.is_dir() else PACKAGE.parent / folder


class OptionError(ValueError):
    """An option this exercise cannot take (--only, --convention, --steps, --plot): the message says
    why. The CLI makes it a usage error (exit 2)."""


class BundledFiles:
    """An exercise's learner template and reference solution, found by its `name`."""

    trains = False  # exercise 4 trains a model once its gradients pass (--steps, --device, --plot)
    name: str

    @property
    def template(self) -> Path:
        return bundled("exercises") / f"{self.name}.py"

    @property
    def solution(self) -> Path:
        return bundled("solutions") / f"{self.name}.py"

    @property
    def warm_up_file(self) -> Path:
        """What grading warms torch up on: the solution, or the template in an install built for
        students (`ninja course init`), which carries no solutions."""
        return self.solution if self.solution.is_file() else self.template

    def handout_problem(self) -> str | None:
        """Why the exercise's own file must not be handed to students, or None (a bundled one's is not)."""
        return None

    def graded_by_cells(self, text: str) -> bool:
        """Whether grading takes a submitted .py of this text as a notebook's cells (its backward after
        the template's forward) rather than as it is."""
        return False


def cached(cache: dict | None, key, make: Callable):
    """make(), kept in `cache` under `key` when there is a cache (grading: once per settings)."""
    if cache is None:
        return make()
    if key not in cache:
        cache[key] = make()
    return cache[key]


@dataclass(frozen=True)
class NotebookSpec:
    """What a notebook's backward cells get from the track: the lines run after the template's
    forward (the notebook's own names for sizes), what they provide in words, and the exercises
    that share one notebook (makemore's 1-4: a cell of exercise 2 is no cell of exercise 1's)."""

    prelude: str = ""
    provided: str = "torch, F, the parameters, the inputs and every intermediate of the forward"
    family: Callable[[], tuple] | None = None  # None: the exercise alone
