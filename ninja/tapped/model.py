"""A tapped model: the data the engine needs from any forward pass.

A model gives three functions (an exercise file defines them at its top level):

    parameters(g)                 torch.Generator -> {name: tensor}, the learnable ones
    inputs(g, batch_size)         -> {name: tensor}, not differentiated (ids, targets, masks);
                                  it may take `data` too (a path or None: makemore's names file)
    forward(tap, **tensors)       one small step a line: x = tap("x", ...); return tap("loss", ...)

From those the engine derives, for any settings (seed, batch size, dtype) or on a learner's own
tensors: the trusted forward's values, the reference gradients (autograd, in float64 unless the
settings say otherwise) and the cut forward (every checked intermediate a leaf of its own) that
local blame stands on. Pure: tensors in, tensors out.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property

import torch

from ninja.settings import Settings

Tensors = dict[str, torch.Tensor]


class ReferencesRefused(RuntimeError):
    """Raised where the trusted references are not to be computed (a grading child)."""


_refused: str | None = None  # why references are refused in this process; None: they are not


def refuse_references(why: str = "ninja's references are not available here") -> None:
    """From now on in this process, every reference and cut forward raises ReferencesRefused(why):
    a grading child runs the learner's code, never ninja's references (the parent computes them)."""
    global _refused
    _refused = why


def _allowed() -> None:
    if _refused is not None:
        raise ReferencesRefused(_refused)


class Model:
    """parameters, inputs and forward, and what the engine derives from them."""

    def __init__(self, parameters: Callable, inputs: Callable, forward: Callable, name: str = "model"):
        self.parameters, self.inputs, self.forward, self.name = parameters, inputs, forward, name

    def __repr__(self) -> str:
        return f"Model({self.name!r})"

    @cached_property
    def names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(parameter names, input names), in the order the model gives them."""
        tensors = self.package_tensors(Settings(batch_size=4))
        params = tuple(self.parameters(torch.Generator().manual_seed(0)))
        return params, tuple(k for k in tensors if k not in params)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return self.names[0]

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.names[1]

    def package_tensors(self, settings: Settings) -> Tensors:
        """The parameters (seeded with settings.seed) and inputs (settings.seed + 1, at the batch
        size), floating ones at settings.dtype: the numbers a template's file and the reference share."""
        params = dict(self.parameters(torch.Generator().manual_seed(settings.seed)))
        g = torch.Generator().manual_seed(settings.seed + 1)
        takes_data = "data" in inspect.signature(self.inputs).parameters
        given = self.inputs(g, settings.batch_size, **({"data": settings.data} if takes_data else {}))
        return {k: at_dtype(v, settings.dtype) for k, v in (params | dict(given)).items()}

    def tensors(self, settings: Settings, own: Mapping[str, torch.Tensor] | None = None) -> Tensors:
        """The package's tensors at `settings`, or a learner's `own` (their sizes, seed, batch):
        fresh copies, floating ones in float64 or at own["dtype"] (to measure its rounding)."""
        if own is None:
            return self.package_tensors(settings)
        dtype = own.get("dtype", torch.float64)
        assert isinstance(dtype, torch.dtype)  # own["dtype"] is a dtype; the rest are tensors
        return {k: at_dtype(own[k].detach(), dtype).clone() for k in (*self.parameter_names, *self.input_names)}

    def values(self, settings: Settings, own: Mapping | None = None) -> Tensors:
        """Every tapped value of the trusted forward, no autograd: what a template's file computes."""
        found: Tensors = {}
        with torch.no_grad():
            self.forward(lambda name, t: found.setdefault(name, t), **self.tensors(settings, own))
        return found

    def reference(self, settings: Settings, names: Iterable[str], own: Mapping | None = None) -> tuple[Tensors, ...]:
        """(every tapped value and the tensors it ran on, d loss / d name for each of `names`), by
        autograd on the trusted forward."""
        _allowed()
        tensors = self.tensors(settings, own)
        leaves = {k: t.requires_grad_() for k, t in tensors.items() if k in self.parameter_names}
        values: Tensors = {}

        def keep(name, t):
            if t.requires_grad:
                t.retain_grad()
            values[name] = t
            return t

        with torch.enable_grad():  # even when called from code that runs under no_grad
            root = self.forward(keep, **tensors)
            root.backward()
        everything = values | leaves
        grads = {name: grad_of(everything, name) for name in names}
        return {k: v.detach() for k, v in (tensors | values).items()}, grads

    def cut(self, settings: Settings, cut: Iterable[str], own: Mapping | None = None) -> tuple[Tensors, Tensors]:
        """The trusted forward with every name in `cut` made a leaf of its own, for local blame.
        Returns (outputs, leaves): outputs[name] is what the forward computed for a cut
        intermediate from the leaves before it (and outputs["loss"] the root); leaves[name] is the
        leaf that the lines after it read. Parameters in `cut` are leaves; the rest of the forward
        stays uncut, so the steps between two cut names count as one line."""
        _allowed()
        cut = set(cut)
        tensors = self.tensors(settings, own)
        leaves = {k: t.requires_grad_() for k, t in tensors.items() if k in cut}
        outputs: Tensors = {}

        def cut_here(name, t):
            if name not in cut:
                return t
            outputs[name] = t
            leaves[name] = t.detach().requires_grad_()
            return leaves[name]

        with torch.enable_grad():
            root = self.forward(cut_here, **tensors)
        outputs.setdefault("loss", root)
        return outputs, leaves


def at_dtype(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return t.to(dtype) if t.is_floating_point() else t


def grad_of(everything: Mapping[str, torch.Tensor], name: str) -> torch.Tensor:
    t = everything[name]
    return t.grad.detach().clone() if t.grad is not None else torch.zeros_like(t).detach()
