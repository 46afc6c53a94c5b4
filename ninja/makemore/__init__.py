"""makemore part 4 ("Becoming a backprop ninja"): the learner-facing side of the MLP model.

The model itself (parameters, batch, the trusted forward) is ninja/makemore/mlp.py, a model file
like any course's. Learner files call `parameters()`, `batch()` and `given(...)` here; the checker
decides the seed, the batch size and the names file by running the file inside
`ninja.tapped.context.running(settings)`, so every run of a file is reproducible and the
checker's reference sees exactly the same numbers.
"""

from __future__ import annotations

import torch

from ninja.makemore import data, mlp
from ninja.makemore.mlp import N_EMBD, N_HIDDEN, PARAMETER_NAMES
from ninja.settings import Settings
from ninja.tapped import context, learner
from ninja.tapped.model import Model

__all__ = ["N_EMBD", "N_HIDDEN", "PARAMETER_NAMES", "Settings", "batch", "dataset", "given", "parameters"]

MODEL = Model(mlp.parameters, mlp.inputs, mlp.forward, "makemore MLP")


def use(settings: Settings):
    """Make parameters() and batch() follow `settings` inside the block."""
    return context.running(settings)


def current_settings() -> Settings:
    return context.current().settings


def parameters(n_hidden: int = N_HIDDEN) -> tuple[torch.Tensor, ...]:
    """C, W1, b1, W2, b2, bngain, bnbias, initialised as in the notebook (bngain and bnbias seeded too)."""
    settings = current_settings()
    params = mlp.parameters(torch.Generator().manual_seed(settings.seed), n_hidden)
    return tuple(p.to(settings.dtype) for p in params.values())


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Xb (batch_size, 3) contexts and Yb (batch_size,) targets, sampled from the training split."""
    settings = current_settings()
    found = mlp.inputs(torch.Generator().manual_seed(settings.seed + 1), settings.batch_size, settings.data)
    return found["Xb"], found["Yb"]


def forward(C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb, tap=lambda name, t: t):
    """The trusted forward with keyword tensors and an optional tap (exercise 4, tests)."""
    return mlp.forward(tap, C=C, W1=W1, b1=b1, W2=W2, b2=b2, bngain=bngain, bnbias=bnbias, Xb=Xb, Yb=Yb)


def tensors_of(settings: Settings, tensors: dict | None = None) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """(parameters by name, Xb, Yb): the package's at `settings`, or the learner's own `tensors`."""
    found = MODEL.tensors(settings, tensors)
    return {k: found[k] for k in PARAMETER_NAMES}, found["Xb"], found["Yb"]


def reference_gradients(settings: Settings, names, tensors: dict | None = None) -> tuple[dict, dict]:
    """(forward values, d loss / d name) for every name, from autograd on the trusted forward."""
    return MODEL.reference(settings, names, tensors)


def cut_forward(settings: Settings, cut, tensors: dict | None = None) -> tuple[dict, dict]:
    """The trusted forward cut into a leaf at every name of `cut` (ninja.tapped.model.Model.cut)."""
    return MODEL.cut(settings, cut, tensors)


def given(name: str) -> torch.Tensor:
    """The reference gradient of `name` at the current settings: what an exercise hands you for
    free (exercise 3 gives dhpreact), on the learner's own parameters and batch where their file
    has some (ninja.tapped.learner.given). Grading hands it in with the settings."""
    return learner.given_by(learner.exercise_named("exercise3"), name, learner.caller_namespace())


def dataset(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """The whole train, val or test split (X, Y) of the current settings' names file: what the
    notebook calls Xtr, Ytr (exercise 4 trains on it)."""
    return data.splits(current_settings().data)[split]
