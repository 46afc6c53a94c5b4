"""What every exercise shares: its learner template and reference solution, and a cache for grading.

Each track builds its exercises on this: ninja/makemore/exercise.py (Karpathy's notebook),
ninja/cs231n/exercise.py (CS231n's NumPy functions). The list of them is ninja/registry.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

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


def cached(cache: dict | None, key, make: Callable):
    """make(), kept in `cache` under `key` when there is a cache (grading: once per settings)."""
    if cache is None:
        return make()
    if key not in cache:
        cache[key] = make()
    return cache[key]
