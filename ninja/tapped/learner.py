"""What a template made from an exercise file imports: its tensors and what it is given.

    from ninja.tapped.learner import given, tensors
    Wq, Wk, Wv, x, targets = tensors("attention")      # the parameters, then the inputs
    dout = given("out", "attention")                    # a gradient the exercise gives

Inside a check, the run's settings decide the numbers (ninja.tapped.context); run on its own
(`python exercises/attention.py`), the exercise is found by name in the workspace's ninja.toml and
the default settings hold.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import torch

from ninja.tapped import context


def exercise_named(name: str):
    """The exercise of the file that runs (a check's), else the one registered under `name`."""
    running = context.current().exercise
    if running is not None and running.name == name:
        return running
    from ninja.registry import find  # the registry is where the core meets the exercises

    return find(name)


def tensors(name: str) -> tuple[torch.Tensor, ...]:
    """The exercise's parameters and inputs at the current run's settings, in the model's order."""
    model = exercise_named(name).model
    found = model.package_tensors(context.current().settings)
    return tuple(found[k] for k in (*model.parameter_names, *model.input_names))


def given(gradient: str, name: str) -> torch.Tensor:
    """The gradient the exercise `name` gives for `gradient`, computed on the tensors being judged:
    the learner's own where the calling file has some (a notebook's or script's own GPT, its own
    sizes and batch), else the package's at the current run's settings (grading hands those in,
    computed by the parent)."""
    return given_by(exercise_named(name), gradient, caller_namespace())


def caller_namespace(depth: int = 2) -> dict:
    """The names the learner's code sees where it called us: its module's, and a function's own
    (`depth` frames up from here: 2, the caller of the function that calls this)."""
    frame = sys._getframe(depth)
    return {**frame.f_globals, **frame.f_locals}


def given_by(exercise, gradient: str, namespace: Mapping) -> torch.Tensor:
    """What `exercise` gives for `gradient`, on the own parameters and inputs `namespace` holds
    when the run judges a file on its own tensors (ninja.tapped.context.Run.own_tensors)."""
    run = context.current()
    found = exercise.own_roles(namespace, run.settings) if run.given is None and run.own_tensors else None
    if found is None:
        return context.given_gradient(gradient, lambda settings: exercise.reference(settings, [gradient])[1][gradient])
    own = found.tensors
    return exercise.reference(run.settings, [gradient], own)[1][gradient].to(exercise.own_dtype(own))


def given_here(gradient: str, namespace: Mapping) -> torch.Tensor:
    """What the running exercise gives, on the learner's own tensors where the namespace holds
    some (a notebook's set-up made its own), else on the package's."""
    return given_by(context.current().exercise, gradient, namespace)
