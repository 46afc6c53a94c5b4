"""What a template made from an exercise file imports: its tensors and what it is given.

    from ninja.tapped.learner import given, tensors
    Wq, Wk, Wv, x, targets = tensors("attention")      # the parameters, then the inputs
    dout = given("out", "attention")                    # a gradient the exercise gives

Inside a check, the run's settings decide the numbers (ninja.tapped.context); run on its own
(`python exercises/attention.py`), the exercise is found by name in the workspace's ninja.toml and
the default settings hold.
"""

from __future__ import annotations

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
    """The gradient the exercise `name` gives for `gradient`, at the current run's settings (grading
    hands it in, computed by the parent)."""
    exercise = exercise_named(name)
    return context.given_gradient(gradient, lambda settings: exercise.reference(settings, [gradient])[1][gradient])


def given_here(gradient: str, namespace: dict) -> torch.Tensor:
    """What the running exercise gives, on the learner's own tensors where the namespace holds
    some (a notebook's set-up made its own), else on the package's."""
    run = context.current()
    exercise = run.exercise
    found = exercise.own_roles(namespace, run.settings)
    if found is None:
        return given(gradient, exercise.name)
    own = found.tensors
    return exercise.reference(run.settings, [gradient], own)[1][gradient].to(exercise.own_dtype(own))
