"""What a learner's file sees while ninja runs it: the settings, and the gradients handed to it.

A template's file asks the package for its tensors (`parameters()`, `batch()`, `tensors(...)`) and
for what the exercise gives (`given("hpreact")`). The checker decides those: `collect` runs the
file inside `running(settings, given=...)`, so the file gets exactly the numbers the reference
uses. Grading hands its secret settings and the given gradients in as arguments this way; no
module is patched. Outside any run (`python exercises/exercise1.py`), the defaults hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import torch

from ninja.settings import Settings


@dataclass(frozen=True)
class Run:
    settings: Settings = Settings()
    # name -> gradient, when the caller computed them (a grading child); None: compute on demand
    given: Mapping[str, torch.Tensor] | None = None
    exercise: Any = None  # the exercise whose file runs: its model makes the file's tensors
    # a file's own parameters and batch are the reference's (a check's, a file run on its own), so
    # what it is given is computed on them; not when grading, nor on a template's tensors
    own_tensors: bool = False


_current: ContextVar[Run | None] = ContextVar("ninja_run", default=None)
OUTSIDE = Run(own_tensors=True)  # outside any run: the defaults, or the file's own tensors


def current() -> Run:
    return _current.get() or OUTSIDE


@contextmanager
def running(
    settings: Settings, given: Mapping[str, torch.Tensor] | None = None, exercise=None, own_tensors: bool = False
) -> Iterator[Run]:
    """Inside the block, a learner's file of `exercise` gets `settings` and these `given` gradients
    (on its own tensors, where `own_tensors` and it has some)."""
    run = Run(settings, given, exercise, own_tensors)
    token = _current.set(run)
    try:
        yield run
    finally:
        _current.reset(token)


def given_gradient(name: str, compute) -> torch.Tensor:
    """The given gradient `name` of the current run: from its table when the caller handed one in,
    else `compute(settings)`."""
    run = current()
    if run.given is None:
        return compute(run.settings)
    if name not in run.given:
        raise KeyError(f"given({name!r}): this exercise gives only {', '.join(run.given) or 'nothing'}")
    return run.given[name].clone()
