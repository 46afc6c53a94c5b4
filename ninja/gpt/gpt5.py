"""GPT 5: train the GPT with your own backward pass.

Write forward_backward: the two-block GPT of gpt4 on a batch, and your gradients of its loss for
every parameter (each layer in one go, as in gpt4), under torch.no_grad(). `ninja check gpt5`
compares them with autograd, then trains the GPT twice from the same start on the same batches,
with your gradients and with autograd's, and shows the two loss curves, the validation losses and
names sampled from your model.
"""

import sys
from dataclasses import dataclass, fields
from pathlib import Path

import torch  # noqa: F401 (the forward reads it)

from ninja.gpt import gpt4
from ninja.gpt.model2 import forward, inputs, parameters
from ninja.tapped.exercise import Exercise
from ninja.tapped.files import from_module

__all__ = ["EXERCISE", "parameters", "inputs", "forward", "CHECKED", "FORWARD", "HINTS"]

PARAMETERS = tuple(parameters(torch.Generator().manual_seed(0)))
CHECKED = tuple(name for name in gpt4.CHECKED if name in PARAMETERS)  # gpt4's order
FORWARD = ("loss",)  # what forward_backward returns besides the gradients
HINTS = {name: gpt4.HINTS[name] for name in CHECKED}


@dataclass(frozen=True)
class TrainingExercise(Exercise):
    """A tapped exercise that, once its gradients pass, trains (--steps, --device, --plot)."""

    trains = True

    def training_request(self, steps: str | None, device: str | None, plot: Path | None):
        from ninja.gpt import train_view  # rich's progress bars: only for a training run

        return train_view.request(steps, device, plot)

    def train(self, path: Path, settings, wanted, console, errors) -> tuple[dict, int]:
        from ninja.gpt import train_view

        return train_view.run(self, path, settings, wanted, console, errors)


_loaded = from_module(sys.modules[__name__], "gpt5")
EXERCISE = TrainingExercise(**{f.name: getattr(_loaded, f.name) for f in fields(_loaded)})
