"""A learner's own tensors, found by the role they play in the model's forward.

A learner's own script or notebook may have its own parameters and inputs (other sizes, seed,
batch size, dtype). A model may bring a finder of its own that knows its layers (makemore's finds
C, W1, ... by what they do, under any name: ninja/makemore/roles.py); the generic finder here takes
the model's parameter and input names, as they appear in the learner's namespace, and keeps them
only if the trusted forward runs on them. Either way the learner's intermediates are then matched
by value to the trusted forward on those tensors, which names their gradients (dhpreact_bn for a
learner's hpreact_bn). Runs where the learner's file ran (a grading child too): tensors in, plain
names out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Roles:
    """role -> the learner's name: parameters, inputs, and the intermediates we could match."""

    names: dict[str, str] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)  # the parameters and inputs


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal up to float32 rounding."""
    if a.shape != b.shape:
        return False
    a, b = a.detach().double(), b.detach().double()
    scale = max(b.abs().max().item() if b.numel() else 0.0, 1e-12)
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-5 * scale))


def match(value: torch.Tensor, tensors: Mapping[str, torch.Tensor], prefer: str, besides=()) -> str | None:
    """The learner's tensor that equals `value`: the one named `prefer` first; never one of
    `besides` (the input of the step: std * bnraw + mean is hprebn again)."""
    if prefer in tensors and prefer not in besides and same(tensors[prefer], value):
        return prefer
    return next((k for k, t in tensors.items() if k not in besides and t.is_floating_point() and same(t, value)), None)


def learner_tensors(namespace: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    return {k: v.detach() for k, v in namespace.items() if torch.is_tensor(v) and not k.startswith("_")}


def by_name(namespace: Mapping[str, Any], model, forward_names) -> Roles | None:
    """The model's parameters and inputs under their own names in the learner's namespace, when
    the trusted forward runs on them and gives a finite loss; None otherwise."""
    tensors = learner_tensors(namespace)
    wanted = (*model.parameter_names, *model.input_names)
    if not all(k in tensors for k in wanted):
        return None
    own = {k: tensors[k] for k in wanted}
    try:
        loss = model.values(None, own).get("loss")
    except Exception:  # noqa: BLE001 (shapes that do not fit the forward: not the model's tensors)
        return None
    if loss is None or not torch.isfinite(loss).all():
        return None
    roles = Roles({k: k for k in wanted}, own)
    name_intermediates(roles, tensors, forward_names, model)
    return roles


def name_intermediates(roles: Roles, tensors: Mapping[str, torch.Tensor], forward_names, model) -> None:
    """The learner's name for each intermediate of the trusted forward on their tensors."""
    floats = {k: v for k, v in tensors.items() if v.is_floating_point() and v.numel() < 10_000_000}
    taken = set(roles.names.values())
    for name, value in model.values(None, roles.tensors).items():
        if name in forward_names and name != "loss":
            found = match(value.detach(), {k: v for k, v in floats.items() if k not in taken or k == name}, name)
            if found:
                roles.names.setdefault(name, found)
                taken.add(found)


def is_the_packages(tensors: Mapping[str, torch.Tensor], package: Mapping[str, torch.Tensor]) -> bool:
    """The learner's tensors are the package's (the template's)."""
    return all(
        k in tensors and tensors[k].shape == v.shape and torch.equal(tensors[k].to(v.dtype), v)
        for k, v in package.items()
    )
